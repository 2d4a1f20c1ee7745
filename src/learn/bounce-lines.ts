/**
 * Finds, in an MTA's log, deliveries that a receiver rejected over IPv6 because of our reverse DNS (the
 * texts are in delivery-failure.ts, the one classifier `learn` shares with the delivery-log follower), and
 * summarises them per MX host for strict_receivers. Pure: lines in, findings out.
 *
 * Read from Postfix's smtp lines (`relay=HOST[ADDR]:PORT … status=bounced|deferred (host … said: TEXT)`)
 * and sendmail's delivery lines (`relay=HOST. [IPv6:ADDR], dsn=…, [reply=TEXT,] stat=TEXT`). Stock
 * sendmail logs the reply text only for temporary failures (`stat=Deferred: 421 …`); a permanent one shows
 * as `dsn=5.7.25` or, for Google's 5.7.1, not at all: its bounce message has the text.
 */
import { classifyFailure } from './delivery-failure.js';

export interface Rejection {
  /** The recipient's domain (lower case). */
  readonly domain: string;
  /** The MX host that rejected the mail (lower case, no trailing dot). */
  readonly host: string;
  readonly address: string;
  /** Which text or code identified it. */
  readonly signal: RejectionSignal;
}

export type RejectionSignal = string;

export { MAX_LINE } from './delivery-line.js';
export { unwrapped } from './delivery-failure.js';

/** The reverse-DNS rejection over IPv6 a log line records, if it records one (the `ptr` class of delivery-failure.ts). */
export function rejectionIn(line: string): Rejection | undefined {
  const failure = classifyFailure(line);
  if (failure?.class !== 'ptr' || !failure.host || !failure.address) return undefined;
  return { domain: failure.domain, host: failure.host, address: failure.address, signal: failure.signal };
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
