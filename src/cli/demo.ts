/**
 * `mx4map demo`: the server, on loopback, answering from a zone of its own (src/demo/) — one domain for each
 * kind of answer — and the commands to try against it, each with the answer it gives. Nothing to set up: no
 * DNS server, no configuration file, no root.
 */
import type { CommandModule } from 'yargs';
import { runDaemon } from '../app/daemon.js';
import { DEMO_ANSWERS, DEMO_NEVER, DEMO_WORKING_IPV6, DEMO_ZONE } from '../demo/demo-zone.js';
import { startDemoGreeters } from '../demo/greeters.js';
import { startZoneServer } from '../demo/zone-server.js';
import { ListenError } from '../errors.js';
import { encodeNetstring } from '../protocol/netstring.js';
import { parseEndpoint } from '../protocol/endpoint.js';

const DEFAULT_LISTEN = 'inet:8425@127.0.0.1';

/** The instructions, as printed: each command with the answer it gives. */
export function demoInstructions(listen: string, dns: string): string {
  const endpoint = parseEndpoint(listen);
  const port = endpoint.kind === 'inet' ? endpoint.port : 8425;
  const host = endpoint.kind === 'inet' ? endpoint.host : '127.0.0.1';
  const request = (domain: string): string => encodeNetstring(Buffer.from(`mailertable ${domain}`)).toString('latin1');
  const width = Math.max(...DEMO_ANSWERS.map((a) => a.domain.length));
  const lines = [
    `mx4map demo: serving on ${listen}, resolving against its own zone (DNS ${dns}); Ctrl-C stops it.`,
    '',
    "Each domain, what sendmail's mailertable map gets, and why:",
    ...DEMO_ANSWERS.map((a) => `  ${a.domain.padEnd(width)}  ${a.reply.trim().padEnd(36)}  ${a.why}`),
    '',
    'Try, in another terminal:',
    `  printf '%s' '${request('cname-mx.demo')}' | nc -N ${host} ${port}`,
    `      → ${encodeNetstring(Buffer.from(DEMO_ANSWERS[0].reply)).toString('latin1')}`,
    `  mx4map query --connect ${listen} ${DEMO_ANSWERS.map((a) => a.domain).join(' ')}`,
    '      → one line per domain: the answers above',
    `  mx4map query --connect ${listen} --map transport user@no-aaaa.demo`,
    '      → user@no-aaaa.demo\tOK smtp:[192.0.2.21], [192.0.2.22]',
    `  mx4map lookup --dns ${dns} --no-probe cname-mx.demo`,
    '      → the whole reason trail: MX, the CNAME, addresses, the trigger, the answer',
    `  postmap -q cname-mx.demo socketmap:inet:${host}:${port}:transport`,
    '      → smtp:[192.0.2.10]',
    `  echo '/map mailertable cname-mx.demo' | sendmail -bt     (its mailertable wired to ${listen} as in the README)`,
    '      → map_lookup: mailertable (cname-mx.demo) returns esmtp:[192.0.2.10] (0)',
    '',
  ];
  return lines.join('\n');
}

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'Serve on loopback against a zone of its own and print commands to try, with the answers they give',
  builder: (yargs) =>
    yargs.option('listen', {
      type: 'string',
      default: DEFAULT_LISTEN,
      requiresArg: true,
      describe: 'where to listen, in listen syntax (inet:0@127.0.0.1: any free port)',
    }),
  handler: async (argv) => {
    const greeters = await startDemoGreeters(DEMO_WORKING_IPV6).catch((err: unknown) => {
      throw new ListenError(`demo: cannot listen on [::1] for its IPv6 SMTP greeters (is IPv6 off on loopback?): ${(err as Error).message}`);
    });
    const zone = await startZoneServer(DEMO_ZONE);
    await runDaemon({
      flags: { listen: [argv.listen as string], dns: [zone.spec], never: DEMO_NEVER, logLevel: 'warn' },
      configPath: '',
      probe: greeters.probe,
      onListening: (bound) => process.stdout.write(demoInstructions(bound[0], zone.spec)),
    });
    zone.close();
    greeters.close();
    process.exit(0);
  },
};
