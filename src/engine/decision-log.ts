/**
 * The log line of a fresh decision: at info for a forced one or a DNS failure (what an operator acts on),
 * at debug for one left alone (most of them: a flood of new domains would flood the log). /metrics counts
 * them all by reason either way.
 */
import type { Logger } from 'pino';
import type { EngineSettings } from './policy.js';
import type { Evaluation } from './pipeline.js';

export function logDecision(log: Logger, e: Evaluation, settings: Pick<EngineSettings, 'secureDomains' | 'dryRun'>): void {
  const d = e.decision;
  const secure = d.action === 'force-ipv4' && d.protection ? d.protection : undefined;
  const level = d.action === 'leave' ? 'debug' : secure && settings.secureDomains === 'warn' ? 'warn' : 'info';
  if (!log.isLevelEnabled(level)) return;
  const fields = {
    evt: 'decision',
    domain: e.domain,
    action: d.action,
    reasons: d.action === 'force-ipv4' ? d.triggers : d.action === 'leave' ? [d.reason] : ['dns-failure'],
    routes: d.action === 'force-ipv4' ? d.routes : undefined, // at most max_addresses
    routesDropped: e.routesDropped || undefined,
    mxHostsDropped: e.mx?.kind === 'hosts' ? e.mx.dropped : undefined,
    detail: d.action === 'dns-failure' ? d.detail : undefined,
    ttlMs: e.ttlMs,
    durationMs: e.durationMs,
    dnsQueries: e.dnsQueries,
    probes: e.probesSent,
    dryRun: settings.dryRun || undefined,
    protection: secure,
  };
  const publishes = secure && `publishes ${secure.join(' and ').toUpperCase()}`;
  const note = !secure
    ? ''
    : settings.secureDomains === 'skip'
      ? ` (${publishes}: answered NOTFOUND on maps that route to IP literals, secure_domains: skip)`
      : ` although it ${publishes}: an IP-literal route drops that protection (secure_domains: warn)`;
  log[level](fields, `${e.domain}: ${d.action}${note}${settings.dryRun ? ' (dry run: answered NOTFOUND)' : ''}`);
}
