/**
 * The per-domain view of the ops listener (`GET /domain?name=…`, `mx4map lookup --server`): what the running
 * server holds for the domain (held.ts), beside a fresh evaluation made with its own caches, the answer each
 * map gives now, and — when sender-ipv6-unready is on — the identity verdict it decides with. The same JSON
 * `mx4map lookup --json` prints, with `held` added.
 */
import type { Engine } from '../engine/engine.js';
import type { MapDefinition } from '../maps/definitions.js';
import { type AnswerPolicy, intendedReply, replyFor } from '../maps/format.js';
import { classifyKeyText } from '../domain/key.js';
import type { IdentityState } from '../identity/sender-identity.js';

export interface DomainReportSources {
  readonly engine: Pick<Engine, 'held' | 'explain'>;
  readonly maps: () => readonly MapDefinition[];
  readonly policy: () => AnswerPolicy;
  readonly deadlineMs: () => number;
  readonly identity: () => IdentityState | undefined;
}

export async function domainReport(name: string, sources: DomainReportSources): Promise<Record<string, unknown>> {
  const key = classifyKeyText(name);
  if (key.kind === 'skip') return { key: name, skipped: key.reason };
  const held = sources.engine.held(key.domain);
  const evaluation = await sources.engine.explain(key.domain);
  const maps = sources.maps();
  const policy = sources.policy();
  const answers = Object.fromEntries(maps.map((m) => [m.name, replyFor(evaluation.answered, m, policy)]));
  const intended = Object.fromEntries(maps.map((m) => [m.name, intendedReply(evaluation.answered, m, policy)]));
  const identity = sources.identity();
  return { ...evaluation, answers, intended, ...(identity ? { identity } : {}), held, maps, policy, deadlineMs: sources.deadlineMs() };
}
