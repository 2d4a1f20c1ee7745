/**
 * Replay input: one key per line (optionally `MAP KEY`), or sendmail maillog lines, from which the
 * recipient and sender domains are taken and asked the way sendmail asks its mailertable: the full name,
 * then — only while the answer is not OK — `.parent` … `.`. Pure.
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

/** A `to=`/`from=` field runs until the next `, name=` field. */
const ADDRESS_FIELD = /\b(?:to|from)=(.*?)(?=,\s*[a-z]+=|$)/g;
const ADDRESS = /[^\s<>,"]+@([^\s<>,"]+)/g;

/** Domains of the addresses in a sendmail `to=`/`from=` field, in order. */
export function maillogDomains(line: string): string[] {
  const domains: string[] = [];
  for (const field of line.matchAll(ADDRESS_FIELD)) {
    for (const address of field[1].matchAll(ADDRESS)) {
      const domain = address[1].replace(/\.$/, '').toLowerCase();
      if (!domain.startsWith('[')) domains.push(domain);
    }
  }
  return domains;
}

export function isMaillogLine(line: string): boolean {
  return /\b(?:to|from)=\S*@/.test(line);
}

export function parseReplayLine(line: string, defaultMap: string): LookupChain[] {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return [];
  if (isMaillogLine(text)) return maillogDomains(text).map((d) => ({ map: defaultMap, keys: parentWalk(d) }));
  const space = text.indexOf(' ');
  return space < 0 ? [{ map: defaultMap, keys: [text] }] : [{ map: text.slice(0, space), keys: [text.slice(space + 1).trim()] }];
}
