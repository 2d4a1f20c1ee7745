/**
 * Finds, in an MTA's log, deliveries that a receiver rejected over IPv6 because of our reverse DNS:
 * Google's "does not meet IPv6 sending guidelines regarding PTR records" (5.7.1) and "does not have a PTR
 * record setup" (5.7.25), freenet.de's "inconsistent or no DNS PTR record", and any 5.7.25 ("reverse DNS
 * validation failed", RFC 7372) to an IPv6 address. Pure: lines in, findings out.
 *
 * Read from Postfix's smtp lines (`relay=HOST[ADDR]:PORT … status=bounced|deferred (host … said: TEXT)`)
 * and sendmail's delivery lines (`relay=HOST. [IPv6:ADDR], dsn=…, [reply=TEXT,] stat=TEXT`). Stock
 * sendmail logs the reply text only for temporary failures (`stat=Deferred: 421 …`); a permanent one shows
 * as `dsn=5.7.25` or, for Google's 5.7.1, not at all: its bounce message has the text.
 */
import { isIP } from 'node:net';
import { parseDeliveryLine } from './delivery-line.js';

export interface Rejection {
  /** The recipient's domain (lower case). */
  readonly domain: string;
  /** The MX host that rejected the mail (lower case, no trailing dot). */
  readonly host: string;
  readonly address: string;
  /** Which text or code identified it. */
  readonly signal: RejectionSignal;
}

export type RejectionSignal = 'google-ipv6-guidelines' | 'google-no-ptr' | 'inconsistent-ptr' | 'dsn-5.7.25';

export { MAX_LINE } from './delivery-line.js';

const TEXTS: ReadonlyArray<[RegExp, RejectionSignal]> = [
  [/does not meet IPv6 sending guidelines regarding PTR records/i, 'google-ipv6-guidelines'],
  [/does not have a PTR record setup/i, 'google-no-ptr'],
  [/inconsistent or no DNS PTR record/i, 'inconsistent-ptr'],
];

/**
 * A multi-line SMTP reply as MTAs log it, joined back into one text: Postfix keeps each line's
 * `550-5.7.1 ` prefix in the middle of the text ("this message does 550-5.7.1 not meet IPv6 …").
 */
export function unwrapped(line: string): string {
  return line.replace(/\s[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s)?/g, ' ').replace(/\s+/g, ' ');
}

/** The rejection a log line records, if it records one. */
export function rejectionIn(line: string): Rejection | undefined {
  const delivery = parseDeliveryLine(line);
  if (!delivery?.host || !delivery.address) return undefined;
  // The rejection is about our IPv6 identity only when the mail went over IPv6: a PTR complaint over
  // IPv4 concerns our IPv4 address, which this trigger cannot help.
  if (isIP(delivery.address) !== 6) return undefined;
  const reply = unwrapped(delivery.text);
  const text = TEXTS.find(([pattern]) => pattern.test(reply));
  const { dsn } = delivery;
  const signal = text?.[1] ?? (dsn === '5.7.25' || dsn === '4.7.25' ? 'dsn-5.7.25' : undefined);
  if (!signal) return undefined;
  return { domain: delivery.domain, host: delivery.host, address: delivery.address, signal };
}

export interface HostSummary {
  readonly host: string;
  readonly count: number;
  /** Domains whose mail the host rejected, with counts, most first. */
  readonly domains: ReadonlyArray<readonly [string, number]>;
  /** The strict_receivers pattern suggested for the host (see patternFor). */
  readonly pattern: string;
}

/**
 * The pattern for a rejecting host: its parent as a `.suffix` (the provider's sibling MX hosts, e.g.
 * gmail-smtp-in.l.google.com → .l.google.com, mx.freenet.de → .freenet.de), or the host itself when the
 * parent could be a registry's suffix (co.uk, com.au: two labels, the first of three letters or fewer),
 * which would make every MX host below it a strict receiver.
 */
export function patternFor(host: string): string {
  const parent = host.split('.').slice(1);
  if (parent.length >= 3 || (parent.length === 2 && parent[0].length > 3)) return `.${parent.join('.')}`;
  return host;
}

export function summarise(rejections: Iterable<Rejection>): HostSummary[] {
  const byHost = new Map<string, Map<string, number>>();
  for (const r of rejections) {
    const domains = byHost.get(r.host) ?? new Map<string, number>();
    domains.set(r.domain, (domains.get(r.domain) ?? 0) + 1);
    byHost.set(r.host, domains);
  }
  const out = [...byHost].map(([host, domains]) => {
    const sorted = [...domains].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    return { host, count: sorted.reduce((n, [, c]) => n + c, 0), domains: sorted, pattern: patternFor(host) };
  });
  return out.sort((x, y) => y.count - x.count || (x.host < y.host ? -1 : 1));
}
