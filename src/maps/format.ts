/**
 * The one place a decision becomes a reply, per map format.
 *   sendmail: esmtp:[192.0.2.1],[192.0.2.2]:[192.0.2.3]   (',' = same MX preference, ':' = next preference)
 *   postfix:  smtp:[192.0.2.1], [192.0.2.2]               (next-hop list, Postfix >= 3.5; tried in order)
 *   postfix, nexthop: domain:  smtp4:                      (empty next hop: the recipient domain, by MX)
 * A forced domain that publishes DANE or MTA-STS answers NOTFOUND on literal maps under secure_domains: skip.
 */
import type { MapDefinition } from './definitions.js';
import type { Decision, Protection, SecureDomains } from '../engine/decision.js';
import { capRoutes } from '../engine/rule.js';
import type { Reply } from '../protocol/socketmap.js';

export interface AnswerPolicy {
  /** What a DNS failure answers: NOTFOUND (fail open, default) or TEMP (defer the mail). */
  readonly onDnsFailure: 'notfound' | 'temp';
  /** Answer NOTFOUND whatever the decision (the decision is only logged). */
  readonly dryRun: boolean;
  /** Most addresses in one answer, most preferred first. */
  readonly maxAddresses: number;
  /** Postfix before 3.5 takes one next hop only: emit just the first address. */
  readonly postfixSingleNexthop: boolean;
  /** What a forced domain that publishes DANE or MTA-STS answers on maps routing to IP literals. */
  readonly secureDomains: SecureDomains;
}

export const DEFAULT_POLICY: AnswerPolicy = { onDnsFailure: 'notfound', dryRun: false, maxAddresses: 10, postfixSingleNexthop: false, secureDomains: 'skip' };

/**
 * The protection that keeps a forced decision off `map`: an IP-literal route would drop it and the policy
 * is skip. Undefined when the domain is answered as forced.
 */
export function skippedFor(decision: Decision, map: MapDefinition, policy: AnswerPolicy): Protection | undefined {
  if (decision.action !== 'force-ipv4' || !decision.protection?.length || map.nexthop === 'domain' || policy.secureDomains !== 'skip') return undefined;
  return decision.protection[0];
}

const NOTFOUND: Reply = { status: 'NOTFOUND' };

/** The route value for a forced domain, or undefined when there is no address to route to. */
export function routeValue(routes: readonly (readonly string[])[], map: MapDefinition, policy: AnswerPolicy): string | undefined {
  const capped = capRoutes(routes, policy.maxAddresses);
  if (capped.length === 0) return undefined;
  if (map.format === 'sendmail') return `${map.mailer}:${capped.map((g) => g.map((a) => `[${a}]`).join(',')).join(':')}`;
  const hops = capped.flat().map((a) => `[${a}]`);
  return `${map.mailer}:${policy.postfixSingleNexthop ? hops[0] : hops.join(', ')}`;
}

/** What `decision` answers on `map`, ignoring dry-run (used for logs and `lookup`). */
export function intendedReply(decision: Decision, map: MapDefinition, policy: AnswerPolicy): Reply {
  switch (decision.action) {
    case 'force-ipv4': {
      if (skippedFor(decision, map, policy)) return NOTFOUND;
      // The recipient domain stays the next hop: Postfix routes by MX through an IPv4-only service.
      if (map.nexthop === 'domain') return { status: 'OK', value: `${map.mailer}:` };
      const value = routeValue(decision.routes, map, policy);
      // Never a bare or empty OK; and never a '%', which sendmail would expand.
      return value === undefined || value.includes('%') ? NOTFOUND : { status: 'OK', value };
    }
    case 'leave':
      return NOTFOUND;
    case 'dns-failure':
      return policy.onDnsFailure === 'temp' ? { status: 'TEMP', reason: `DNS failure: ${decision.detail}` } : NOTFOUND;
  }
}

export function replyFor(decision: Decision, map: MapDefinition, policy: AnswerPolicy): Reply {
  return policy.dryRun ? NOTFOUND : intendedReply(decision, map, policy);
}

/** Most orders of one answer kept for Postfix load spreading. */
export const MAX_ORDERS = 8;

/**
 * The answers a decision gives on a map, to be handed out in turn. Postfix tries a next-hop list in order,
 * so a flat list would send every message to the first of several equally preferred hosts; it gets each
 * preference group rotated (preference order between groups kept), one order per rotation, at most
 * MAX_ORDERS. sendmail shuffles hosts joined by ',' itself: one answer.
 */
export function replyOrders(decision: Decision, map: MapDefinition, policy: AnswerPolicy): Reply[] {
  if (map.format !== 'postfix' || map.nexthop === 'domain' || decision.action !== 'force-ipv4' || policy.dryRun || skippedFor(decision, map, policy))
    return [replyFor(decision, map, policy)];
  const widest = Math.max(...decision.routes.map((g) => g.length));
  const orders = Math.min(widest, MAX_ORDERS);
  return Array.from({ length: orders }, (_, turn) => {
    const routes = decision.routes.map((group) => [...group.slice(turn % group.length), ...group.slice(0, turn % group.length)]);
    return intendedReply({ ...decision, routes }, map, policy);
  });
}
