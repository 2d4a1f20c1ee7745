/** Renders an evaluation as the reason trail `mx4map lookup` prints. Pure. */
import { Explanation } from '../engine/engine.js';
import { Decision } from '../engine/decision.js';
import { AddressFacts } from '../engine/facts.js';
import { MapDefinition } from '../config/map-definitions.js';
import { AnswerPolicy, intendedReply, replyFor } from '../maps/format.js';
import { showReply } from './query.js';
import { showMs } from '../config/values.js';

function ignored(facts: AddressFacts): string {
  const parts: string[] = [];
  if ((facts.kind === 'records' || facts.kind === 'nodata') && facts.special?.length) parts.push(`special-purpose, never used: ${facts.special.join(' ')}`);
  if (facts.kind === 'records' && facts.dropped) parts.push(`${facts.dropped} more past max_addresses not kept`);
  return parts.length ? `; ${parts.join('; ')}` : '';
}

function addresses(label: string, facts: AddressFacts): string {
  switch (facts.kind) {
    case 'records':
      return `  ${label.padEnd(9)} ${facts.addresses.join(' ')}  (ttl ${facts.ttl}s${ignored(facts)})`;
    case 'nodata':
      return `  ${label.padEnd(9)} none (${facts.special?.length ? 'only special-purpose addresses' : 'NODATA'}, ttl ${facts.ttl}s${ignored(facts)})`;
    case 'nxdomain':
      return `  ${label.padEnd(9)} none (NXDOMAIN, ttl ${facts.ttl}s)`;
    case 'failure':
      return `  ${label.padEnd(9)} lookup failed: ${facts.detail}`;
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function describe(d: Decision): string {
  return `${d.action} (${d.action === 'force-ipv4' ? d.triggers.join(', ') : d.action === 'leave' ? d.reason : d.detail})`;
}

/** A span as a person reads it, rounded down: 45 s, 2 min, 23 h, 3 d. */
function roughly(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** What the cache held and whether serve answers it rather than the evaluation above. */
function cacheLine(e: Explanation): string | undefined {
  const c = e.cached;
  if (!c) return undefined;
  const held = describe(e.answered);
  switch (e.answeredFrom) {
    case 'cached':
      return `cached      ${held}, fresh for ${roughly(c.expiresInMs)} more: serve answers it until then`;
    case 'stale': {
      const why = e.decision.action === 'dns-failure' ? `DNS failed (${e.decision.detail})` : 'the evaluation missed the deadline';
      return `stale       ${held}, expired ${roughly(-c.expiresInMs)} ago, kept ${roughly(c.keptForMs)} more: serve answers it because ${why}, and asks DNS again in ${showMs(e.ttlMs)}`;
    }
    case 'evaluated':
      return `cached      expired ${roughly(-c.expiresInMs)} ago; replaced by the decision above`;
  }
}

export function renderTrail(e: Explanation, maps: readonly MapDefinition[], policy: AnswerPolicy, deadlineMs: number): string {
  const out: string[] = [`domain      ${e.domain}`];
  if (e.override) out.push(`override    ${e.override === 'never' ? 'never (no DNS asked)' : 'force_ipv4'}`);
  const mx = e.mx;
  if (mx) {
    switch (mx.kind) {
      case 'failure':
        out.push(`mx          lookup failed: ${mx.detail}`);
        break;
      case 'nxdomain':
        out.push(`mx          domain does not exist (NXDOMAIN, ttl ${mx.ttl}s)`);
        break;
      case 'null-mx':
        out.push(`mx          null MX "0 ." (the domain accepts no mail; ttl ${mx.ttl}s)`);
        break;
      case 'hosts':
        if (mx.aliases.length) out.push(`alias       ${[...mx.aliases, mx.hosts[0]?.name ?? ''].join(' -> ')} (a CNAME at the domain is legal)`);
        if (mx.implicit) out.push(`mx          none: the domain is its own mail host (implicit MX, RFC 5321 §5.1; ttl ${mx.ttl}s)`);
        else for (const h of mx.hosts) out.push(`mx          ${h.preference} ${h.name}  (ttl ${mx.ttl}s)`);
        if (mx.dropped) out.push(`mx          … ${mx.dropped} less preferred hosts past max_mx_hosts not considered`);
        break;
    }
  }
  for (const h of e.hosts) {
    out.push(`host        ${h.name} (preference ${h.preference})`);
    if (h.aliases.length) out.push(`  cname     ${[...h.aliases, h.canonical].join(' -> ')}`);
    out.push(addresses('A', h.a), addresses('AAAA', h.aaaa));
    for (const p of h.probes) out.push(`  probe     [${p.address}] ${p.ok ? 'ok' : 'failed'}: ${p.detail}, ${p.ms} ms${p.cached ? ' (cached)' : ''}`);
    out.push(`  triggers  ${h.triggers.length ? h.triggers.join(', ') : 'none'}`);
  }
  out.push(`decision    ${describe(e.decision)}`);
  const cache = cacheLine(e);
  if (cache) out.push(cache);
  const d = e.answered;
  const from = e.answeredFrom === 'evaluated' ? '' : `  (${e.answeredFrom})`;
  maps.forEach((map, i) => {
    const answered = showReply(replyFor(d, map, policy));
    const intended = showReply(intendedReply(d, map, policy));
    const note = answered === intended ? from : `  (dry run; would answer ${intended})${from}`;
    out.push(`${i === 0 ? 'answer' : ''.padEnd(6)}      ${map.name.padEnd(12)} ${answered}${note}`);
  });
  out.push(`cached for  ${e.answeredFrom === 'stale' ? 'not cached: the stale decision is kept' : e.ttlMs > 0 ? showMs(e.ttlMs) : 'not cached'}`);
  const over = e.durationMs > deadlineMs ? `  (over the ${showMs(deadlineMs)} deadline: serve answers NOTFOUND until the decision is cached)` : '';
  out.push(`work        ${plural(e.dnsQueries, 'DNS query', 'DNS queries')}, ${plural(e.probesSent, 'probe', 'probes')}, ${e.durationMs} ms${over}`);
  return `${out.join('\n')}\n`;
}
