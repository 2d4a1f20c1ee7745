/**
 * Replay input: one key per line (optionally `MAP KEY`), or mail log lines (sendmail's, Postfix's), from
 * whose `to=` field the recipient domains are taken and asked the way sendmail asks its mailertable: the
 * full name, then — only while the answer is not OK — `.parent` … `.`. Other log lines (connections,
 * `from=`, daemon starts) are skipped and counted: they are no lookup. Pure.
 */

/** Keys asked in order until one is answered OK (a single key for plain input). */
export interface LookupChain {
  readonly map: string;
  readonly keys: readonly string[];
}

/** sendmail's mailertable walk for a domain: a.b.c, .b.c, .c, . */
export function parentWalk(domain: string): string[] {
  const keys = [domain];
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) keys.push(domain.slice(dot));
  keys.push('.');
  return keys;
}

/** A `to=` field runs until the next `, name=` field (`ctladdr=`, `delay=` …). */
const RECIPIENT_FIELD = /(?:^|[\s,])to=(.*?)(?=,\s*[a-z]+=|$)/g;
const ADDRESS = /[^\s<>,"]+@([^\s<>,"]+)/g;
/** A syslog line: `Nov 25 10:00:01 host prog[pid]: …`, or with an ISO 8601 stamp (rsyslog's high precision). */
const SYSLOG = /^(?:[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)\s+\S+\s+[^\s:]+:/;

/** Recipient domains of a log line's `to=` field, in order, each once (IP literals are no domain). */
export function maillogDomains(line: string): string[] {
  const domains: string[] = [];
  for (const field of line.matchAll(RECIPIENT_FIELD)) {
    for (const address of field[1].matchAll(ADDRESS)) {
      const domain = address[1].replace(/\.$/, '').toLowerCase();
      if (!domain.startsWith('[') && !domains.includes(domain)) domains.push(domain);
    }
  }
  return domains;
}

export function isMaillogLine(line: string): boolean {
  return SYSLOG.test(line) || /(?:^|[\s,])to=\S*@/.test(line);
}

/** What one input line asks: lookup chains, or nothing because it is a log line that carries no recipient, or no lookup at all. */
export type ReplayLine = { readonly kind: 'chains'; readonly chains: LookupChain[] } | { readonly kind: 'skipped' };

export function parseReplayLine(line: string, defaultMap: string): ReplayLine {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return { kind: 'chains', chains: [] };
  if (isMaillogLine(text)) {
    const domains = maillogDomains(text);
    return domains.length ? { kind: 'chains', chains: domains.map((d) => ({ map: defaultMap, keys: parentWalk(d) })) } : { kind: 'skipped' };
  }
  const words = text.split(/\s+/);
  // `KEY` or `MAP KEY`: a key never holds a space, so a line of more words is not a lookup (prose, a stray log line).
  if (words.length > 2) return { kind: 'skipped' };
  return { kind: 'chains', chains: words.length === 1 ? [{ map: defaultMap, keys: [text] }] : [{ map: words[0], keys: [words[1]] }] };
}
