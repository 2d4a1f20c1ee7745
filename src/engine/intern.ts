/**
 * Shares identical decisions: every domain left alone for one reason holds the same frozen object, and
 * domains forced onto the same routes (one provider's customers) share one too. This keeps a cached
 * decision to a few bytes beyond its key, and lets answers be encoded once per shared decision.
 */
import type { Decision, LeaveReason } from './decision.js';

const LEAVE = new Map<LeaveReason, Decision>();

export function leave(reason: LeaveReason): Decision {
  let d = LEAVE.get(reason);
  if (!d) {
    d = Object.freeze({ action: 'leave', reason });
    LEAVE.set(reason, d);
  }
  return d;
}

/** Bounded: past this many distinct forced decisions the table starts afresh (sharing is an optimisation). */
const MAX_FORCED = 10_000;
const forced = new Map<string, Decision>();

export function intern(decision: Decision): Decision {
  switch (decision.action) {
    case 'leave':
      return leave(decision.reason);
    case 'dns-failure':
      return decision;
    case 'force-ipv4': {
      const protection = decision.protection?.length ? decision.protection : undefined;
      const key = `${decision.triggers.join('+')}|${decision.routes.map((g) => g.join(',')).join(':')}|${protection?.join('+') ?? ''}`;
      const known = forced.get(key);
      if (known) return known;
      if (forced.size >= MAX_FORCED) forced.clear();
      const frozen = Object.freeze({
        action: 'force-ipv4' as const,
        triggers: Object.freeze([...decision.triggers]),
        routes: Object.freeze(decision.routes.map((g) => Object.freeze([...g]))),
        ...(protection ? { protection: Object.freeze([...protection]) } : {}),
      });
      forced.set(key, frozen);
      return frozen;
    }
  }
}
