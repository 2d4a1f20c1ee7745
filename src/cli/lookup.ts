/**
 * `mx4map lookup DOMAIN`: runs the engine directly, with the same flags as serve, and prints the reason
 * trail (or JSON), and what serve answers instead when its cache snapshot holds a fresh decision for the
 * domain, or a stale one and DNS fails. With `--server`, the running server makes the report with its own
 * caches and says what it holds for the domain now. Exit 0 when the answer is OK, 1 when NOTFOUND, 2 on TEMP or an error.
 */
import type { CommandModule } from 'yargs';
import { loadConfig } from '../config/load.js';
import { createLogger, type LogLevel } from '../log.js';
import { answerPolicy, assembleEngine, assembleSenderIdentity } from '../app/assemble.js';
import { classifyKeyText } from '../domain/key.js';
import { intendedReply, replyFor } from '../maps/format.js';
import { DECISION_OPTIONS, rawFlagValues, withConfigFlags } from './config-flags.js';
import { renderHeld, renderTrail } from './lookup-report.js';
import { opsGet } from './ops-request.js';
import { ClientError } from '../errors.js';
import type { Explanation } from '../engine/explanation.js';
import type { HeldDomain } from '../engine/held.js';
import type { MapDefinition } from '../maps/definitions.js';
import type { AnswerPolicy } from '../maps/format.js';
import { SnapshotKeeper } from '../snapshot/keeper.js';
import { type IdentityState, describeIdentity } from '../identity/sender-identity.js';

export const lookupCommand: CommandModule = {
  command: 'lookup <domain>',
  describe: 'Decide for one domain right here (no server needed) and print why',
  builder: (yargs) =>
    withConfigFlags(yargs, DECISION_OPTIONS)
      .positional('domain', { type: 'string', describe: 'domain (or user@domain) to decide for' })
      .option('json', { type: 'boolean', default: false, describe: 'print the evaluation as JSON' })
      .option('server', {
        type: 'string',
        describe:
          "ask the running server's ops listener (its http address, e.g. 127.0.0.1:9425) instead: what it holds for the domain, beside an evaluation made with its caches",
      }),
  handler: async (argv) => {
    if (argv.server !== undefined) {
      process.exitCode = await lookupOnServer(String(argv.server), String(argv.domain), argv.json === true);
      return;
    }
    const flags = rawFlagValues(argv, DECISION_OPTIONS);
    const config = loadConfig(flags, argv.config as string | undefined);
    // Logs go to stderr as text, quiet unless a level was asked for: stdout is the report.
    const logging = createLogger(flags.logLevel !== undefined ? (config.logLevel as LogLevel) : 'warn', { fd: 2, async: false, format: 'text' });
    const { log } = logging;
    const key = classifyKeyText(String(argv.domain));
    if (key.kind === 'skip') {
      process.stdout.write(
        argv.json
          ? `${JSON.stringify({ key: argv.domain, skipped: key.reason })}\n`
          : `${String(argv.domain)}: answered NOTFOUND at once, without DNS (${key.reason})\n`,
      );
      process.exitCode = 1;
      return;
    }
    const { engine, dns } = assembleEngine(config, log);
    // Our IPv6 identity, checked once as serve checks it, so sender-ipv6-unready decides here as there.
    let identity: IdentityState | undefined;
    if (config.triggers.includes('sender-ipv6-unready')) {
      // Its verdict is a line of the report; the warning serve would log says the same again.
      const checker = assembleSenderIdentity(() => config.ipv6Source, dns, engine, log.child({}, { level: 'error' }));
      identity = await checker.check();
      checker.stop();
    }
    // serve's cache as its snapshot last kept it: a fresh or stale decision there is what serve answers.
    if (config.cacheSnapshot !== '')
      await new SnapshotKeeper(
        config.cacheSnapshot,
        engine,
        () => ({ maxTtlMs: config.maxTtl, cacheSize: config.cacheSize, maxEvidence: config.maxEvidence }),
        log,
      ).load();
    const evaluation = await engine.explain(key.domain);
    const policy = answerPolicy(config);
    const answers = Object.fromEntries(config.maps.map((m) => [m.name, replyFor(evaluation.answered, m, policy)]));
    if (argv.json) {
      const intended = Object.fromEntries(config.maps.map((m) => [m.name, intendedReply(evaluation.answered, m, policy)]));
      process.stdout.write(`${JSON.stringify({ ...evaluation, answers, intended, ...(identity ? { identity } : {}) }, null, 2)}\n`);
    } else {
      process.stdout.write(renderTrail(evaluation, config.maps, policy, config.deadline, identity ? describeIdentity(identity) : []));
    }
    await logging.close();
    process.exitCode = lookupExitCode(Object.values(answers).map((r) => r.status));
  },
};

/** `lookup --server`: the same report, made by the running server (GET /domain?name=…, app/domain-report.ts). */
async function lookupOnServer(server: string, domain: string, json: boolean): Promise<number> {
  const response = await opsGet(server, `/domain?name=${encodeURIComponent(domain)}`, 15_000);
  const body = await response.text();
  if (!response.ok) throw new ClientError(`${response.url} answered HTTP ${response.status}: ${body.trim()}`);
  const report = JSON.parse(body) as Explanation & {
    skipped?: string;
    held: HeldDomain;
    maps: MapDefinition[];
    policy: AnswerPolicy;
    deadlineMs: number;
    answers: Record<string, { status: string }>;
    identity?: IdentityState;
  };
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (report.skipped) process.stdout.write(`${domain}: answered NOTFOUND at once, without DNS (${report.skipped})\n`);
  else {
    const identity = report.identity ? describeIdentity(report.identity) : [];
    process.stdout.write(renderTrail(report, report.maps, report.policy, report.deadlineMs, identity) + renderHeld(report.held));
  }
  return report.skipped ? 1 : lookupExitCode(Object.values(report.answers).map((r) => r.status));
}

/** As `query` exits: 2 when a map would answer TEMP, else 0 when one answers OK, else 1 (NOTFOUND). */
function lookupExitCode(statuses: readonly string[]): number {
  if (statuses.includes('TEMP')) return 2;
  return statuses.includes('OK') ? 0 : 1;
}
