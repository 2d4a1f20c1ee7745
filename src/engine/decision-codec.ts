/**
 * Decisions that leave the process and come back: which are worth keeping (a snapshot, the fleet's shared
 * cache), the row a kept one travels as, and the check every decision read from outside passes, as strict
 * as the check of a DNS answer.
 */
import { isIPv4 } from 'node:net';
import { isSpecialAddress } from '../net/special-address.js';
import { DATA_LEAVE_REASONS, type Decision, type LeaveReason, PROTECTIONS, type Protection, TRIGGERS, type Trigger } from './decision.js';

/** A cached decision with its wall-clock lifetime (snapshot rows, `restore`). */
export interface KeptDecision {
  readonly domain: string;
  readonly decision: Decision;
  /** Wall-clock expiry (epoch ms), so the time the process was down counts against the lifetime. */
  readonly expiresAt: number;
  /** Kept, stale, until then (serve-stale), when past `expiresAt`. */
  readonly staleUntil?: number;
}

/**
 * Worth keeping across a restart: DNS failures are short-lived, deadline answers are never cached, and
 * `local` answers depend on this host's addresses, read afresh at start.
 */
export function keep(decision: Decision): boolean {
  return decision.action !== 'dns-failure' && !(decision.action === 'leave' && decision.reason === 'local');
}

const KNOWN_TRIGGERS = new Set<string>(TRIGGERS);
const KNOWN_PROTECTIONS = new Set<string>(PROTECTIONS);
/** What a snapshot may hold: decisions about DNS data (never, local, deadline answers are not cached). */
const KEPT_LEAVE_REASONS = new Set<string>(DATA_LEAVE_REASONS);

/** A decision read from outside (a snapshot line, the shared cache), checked as strictly as a DNS answer. */
export function checkDecision(raw: unknown): Decision | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const d = raw as Record<string, unknown>;
  if (d.action === 'leave') return KEPT_LEAVE_REASONS.has(d.reason as string) ? { action: 'leave', reason: d.reason as LeaveReason } : undefined;
  if (d.action !== 'force-ipv4') return undefined;
  const { triggers, routes, protection } = d;
  if (!Array.isArray(triggers) || triggers.length === 0 || !triggers.every((t) => KNOWN_TRIGGERS.has(t as string))) return undefined;
  if (!Array.isArray(routes) || routes.length === 0) return undefined;
  for (const group of routes) {
    if (!Array.isArray(group) || group.length === 0 || !group.every((a) => typeof a === 'string' && isIPv4(a) && !isSpecialAddress(a))) return undefined;
  }
  if (protection !== undefined && (!Array.isArray(protection) || protection.length === 0 || !protection.every((p) => KNOWN_PROTECTIONS.has(p as string))))
    return undefined;
  return {
    action: 'force-ipv4',
    triggers: triggers as Trigger[],
    routes: routes as string[][],
    ...(protection ? { protection: protection as Protection[] } : {}),
  };
}
