/** Renders an evaluation as the reason trail `mx4map lookup` prints. Pure. */
import { Evaluation } from '../engine/engine.js';
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

export function renderTrail(e: Evaluation, maps: readonly MapDefinition[], policy: AnswerPolicy, deadlineMs: number): string {
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
  const d = e.decision;
  const why = d.action === 'force-ipv4' ? d.triggers.join(', ') : d.action === 'leave' ? d.reason : d.detail;
  out.push(`decision    ${d.action} (${why})`);
  maps.forEach((map, i) => {
    const answered = showReply(replyFor(d, map, policy));
    const intended = showReply(intendedReply(d, map, policy));
    const note = answered === intended ? '' : `  (dry run; would answer ${intended})`;
    out.push(`${i === 0 ? 'answer' : ''.padEnd(6)}      ${map.name.padEnd(12)} ${answered}${note}`);
  });
  out.push(`cached for  ${e.ttlMs > 0 ? showMs(e.ttlMs) : 'not cached'}`);
  const over = e.durationMs > deadlineMs ? `  (over the ${showMs(deadlineMs)} deadline: serve answers NOTFOUND until the decision is cached)` : '';
  out.push(`work        ${plural(e.dnsQueries, 'DNS query', 'DNS queries')}, ${plural(e.probesSent, 'probe', 'probes')}, ${e.durationMs} ms${over}`);
  return `${out.join('\n')}\n`;
}
