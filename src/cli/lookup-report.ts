/** Renders an evaluation as the reason trail `mx4map lookup` prints. Pure. */
import type { Evidence } from '../engine/evidence.js';
import type { Explanation } from '../engine/explanation.js';
import type { HeldDomain } from '../engine/held.js';
import type { Decision } from '../engine/decision.js';
import type { AddressFacts } from '../engine/facts.js';
import type { MapDefinition } from '../maps/definitions.js';
import { type AnswerPolicy, intendedReply, replyFor, skippedFor } from '../maps/format.js';
import type { ProtectionFacts, TlsaFact } from '../engine/protection.js';
import { printable } from '../protocol/socketmap.js';
import { showReply } from './query.js';
import { showMs } from '../text/values.js';

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
  const published = d.action === 'force-ipv4' && d.protection ? `; publishes ${d.protection.map((p) => p.toUpperCase()).join(' and ')}` : '';
  return `${d.action} (${d.action === 'force-ipv4' ? d.triggers.join(', ') : d.action === 'leave' ? d.reason : d.detail}${published})`;
}

const DANE_SKIPPED = {
  'dnssec-off': 'not looked up: dnssec is off (DANE needs a validating resolver and dnssec: trust-ad)',
  'mx-insecure': 'cannot apply: the MX answer is not DNSSEC-validated',
  'no-validated-host': 'cannot apply: no MX host has DNSSEC-validated addresses',
} as const;

function tlsaLine(t: TlsaFact): string {
  switch (t.found) {
    case 'tlsa':
      return `${t.host}: TLSA at ${t.name}: ${(t.records ?? []).map((r) => `${r.usage} ${r.selector} ${r.matchingType}`).join(', ')} (validated)`;
    case 'none':
      return `${t.host}: no TLSA (validated denial at ${t.name})`;
    case 'insecure':
      return `${t.host}: the TLSA answer at ${t.name} is not validated: DANE does not apply`;
    case 'failure':
      return `${t.host}: TLSA lookup at ${t.name} failed: ${t.detail ?? ''} (DANE not ruled out)`;
  }
}

/** The transport-security lookups made for a forced domain. */
function protectionLines(p: ProtectionFacts): string[] {
  const out: string[] = [];
  switch (p.mtaSts.found) {
    case 'record':
      out.push(`mta-sts     policy published: "${printable(p.mtaSts.record, 100)}"`);
      break;
    case 'none':
      out.push('mta-sts     none (no v=STSv1 TXT record at _mta-sts)');
      break;
    case 'failure':
      out.push(`mta-sts     lookup failed: ${p.mtaSts.detail} (MTA-STS not ruled out)`);
      break;
  }
  if (p.dane.skipped) out.push(`dane        ${DANE_SKIPPED[p.dane.skipped]}`);
  for (const t of p.dane.hosts) out.push(`dane        ${tlsaLine(t)}`);
  return out;
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

/** `identity`: our IPv6 sending identity in lines (describeIdentity), when sender-ipv6-unready is on. */
export function renderTrail(
  e: Explanation,
  maps: readonly MapDefinition[],
  policy: AnswerPolicy,
  deadlineMs: number,
  identity: readonly string[] = [],
): string {
  const out: string[] = [`domain      ${e.domain}`];
  for (const line of identity) out.push(`sender      ${line.replace(/^sender-ipv6:? /, '')}`);
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
  if (e.evidence) out.push(evidenceLine(e.evidence.evidence, e.evidence.remainingMs));
  if (e.protection) out.push(...protectionLines(e.protection));
  out.push(`decision    ${describe(e.decision)}`);
  const cache = cacheLine(e);
  if (cache) out.push(cache);
  const d = e.answered;
  const from = e.answeredFrom === 'evaluated' ? '' : `  (${e.answeredFrom})`;
  maps.forEach((map, i) => {
    const answered = showReply(replyFor(d, map, policy));
    const intended = showReply(intendedReply(d, map, policy));
    const skipped = skippedFor(d, map, policy);
    const why = skipped ? `  (secure_domains: skip: a literal route would drop ${skipped.toUpperCase()})` : '';
    const note = (answered === intended ? '' : `  (dry run; would answer ${intended})`) + why + from;
    out.push(`${i === 0 ? 'answer' : ''.padEnd(6)}      ${map.name.padEnd(12)} ${answered}${note}`);
  });
  out.push(`cached for  ${e.answeredFrom === 'stale' ? 'not cached: the stale decision is kept' : e.ttlMs > 0 ? showMs(e.ttlMs) : 'not cached'}`);
  const over = e.durationMs > deadlineMs ? `  (over the ${showMs(deadlineMs)} deadline: serve answers NOTFOUND until the decision is cached)` : '';
  out.push(`work        ${plural(e.dnsQueries, 'DNS query', 'DNS queries')}, ${plural(e.probesSent, 'probe', 'probes')}, ${e.durationMs} ms${over}`);
  return `${out.join('\n')}\n`;
}

/** The delivery-log evidence behind ipv6-delivery-failed: what failed, where, when, and for how long yet. */
function evidenceLine(v: Evidence, remainingMs: number): string {
  const where = v.scope === 'host' ? `MX host ${v.relay}` : v.relay ? `via ${v.relay}` : 'no relay reached';
  const at = new Date(v.seenAt).toISOString();
  return `evidence    ${v.class} (${v.signal}), ${where}${v.address ? ` [${v.address}]` : ''}, seen ${at}, forces IPv4 for ${roughly(remainingMs)} more: "${printable(v.excerpt, 100)}"`;
}

/** What the running server holds for the domain (`lookup --server`), in the trail's layout. */
export function renderHeld(h: HeldDomain): string {
  const out: string[] = [];
  if (h.local) out.push("server      one of this host's own domains: answered NOTFOUND without DNS");
  if (h.override) out.push(`server      override ${h.override === 'never' ? 'never' : 'force_ipv4'} applies before any cached decision`);
  if (h.state === 'none' || !h.decision) out.push('server      holds no decision for it: the next lookup decides it');
  else if (h.state === 'fresh')
    out.push(
      `server      holds ${describe(h.decision)}, fresh for ${roughly(h.expiresInMs ?? 0)} more, kept (stale past that) until ${roughly(h.keptForMs ?? 0)} from now`,
    );
  else
    out.push(
      `server      holds ${describe(h.decision)}, expired ${roughly(-(h.expiresInMs ?? 0))} ago, kept stale ${roughly(h.keptForMs ?? 0)} more${h.retryInMs ? `; no refresh for ${roughly(h.retryInMs)} (the last one failed)` : ''}`,
    );
  out.push(`in flight   ${h.inFlight ? 'yes: a lookup of it is running now' : 'no'}`);
  if (h.evidence) out.push(evidenceLine(h.evidence.evidence, h.evidence.remainingMs));
  return `${out.join('\n')}\n`;
}
