/**
 * The one classifier of failed deliveries, for `learn` (offline, for a human) and for the delivery-log
 * follower (live, for the ipv6-delivery-failed trigger): from one MTA log line to the recipient domain,
 * the relay, and which failure IPv4 cures. Positional and linear in the line's length (delivery-line.ts);
 * the reply text of a remote server is only ever matched against fixed texts, never parsed for fields.
 *
 * Classes that IPv4 cures, and only over IPv6 (the `bind` line aside):
 * - bind: sendmail could not even open an IPv6 socket (the original report: `cannot bind socket [IPv6:…]:
 *   Address family not supported by protocol`, then `relay=domain. [], stat=Deferred: Address family …`);
 * - ptr: the receiver rejects our IPv6 address for its reverse DNS (Google, Microsoft, freenet.de, Comcast,
 *   ImprovMX, Postfix's reject_unknown_client_hostname, a bare x.7.25);
 * - auth6: SPF/DKIM does not cover our IPv6 address (x.7.26);
 * - connect: the IPv6 connection itself failed (timed out, refused, unreachable).
 * Everything else (unknown users, quotas, content, greylisting, any failure over IPv4) is not evidence.
 */
import { isIP } from 'node:net';
import { isHostName } from '../domain/key.js';
import type { FailureReport } from '../engine/evidence.js';
import { type DeliveryLine, parseDeliveryLine } from './delivery-line.js';

/** A failed delivery that IPv4 cures: the engine's FailureReport (domain, relay, class, signal, excerpt) and the MTA. */
export interface DeliveryFailure extends FailureReport {
  readonly mta: DeliveryLine['mta'];
}

/** Reverse-DNS rejections of an IPv6 sender, as receivers word them (facts-wave3.md has the sources). */
const PTR_TEXTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/does not meet IPv6 sending guidelines regarding PTR records/i, 'google-ipv6-guidelines'],
  [/does not have a PTR record setup/i, 'google-no-ptr'],
  [/must have reverse DNS record/i, 'microsoft-reverse-dns'],
  [/inconsistent or no DNS PTR record/i, 'inconsistent-ptr'],
  [/Inconsistent\/Missing DNS PTR record/i, 'inconsistent-ptr'],
  [/requires that all mail servers must have a PTR record/i, 'comcast-ptr'],
  [/IP name lookup failed/i, 'improvmx-ptr'],
  [/cannot find your reverse hostname/i, 'postfix-unknown-client'],
  [/reverse DNS/i, 'reverse-dns'],
];
const AUTH_TEXTS: ReadonlyArray<readonly [RegExp, string]> = [[/must pass either SPF or DKIM validation/i, 'microsoft-spf-dkim']];
/** The MTA's own account of a failed IPv6 connection (Postfix `connect to H[A]:P: REASON`, sendmail `stat=Deferred: REASON`). */
const CONNECT_TEXTS = /^(?:Deferred: )?(?:connect to [^ ]{1,300}: )?(Connection timed out|Connection refused|Network is unreachable|No route to host)\b/;
const BIND_TEXT = /Address family not supported by protocol/;
const EXCERPT = 160;

/**
 * A multi-line SMTP reply as MTAs log it, joined back into one text: Postfix keeps each line's
 * `550-5.7.1 ` prefix in the middle of the text ("this message does 550-5.7.1 not meet IPv6 …").
 */
export function unwrapped(text: string): string {
  return text.replace(/\s[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s)?/g, ' ').replace(/\s+/g, ' ');
}

/**
 * A delivery that went through, told by the first status field (the MTA's, before any reply text): most
 * lines of a busy log, passed over without parsing them. A line that fools this check (a recipient address
 * or a sendmail reply= text holding ", stat=Sent") is passed over too: it forces nothing, mail flows as before.
 */
function delivered(line: string): boolean {
  const postfix = line.indexOf(', status=');
  if (postfix >= 0) return line.startsWith('sent', postfix + 9);
  const sendmail = line.indexOf(', stat=');
  return sendmail >= 0 && line.startsWith('Sent', sendmail + 7);
}

/** The failure a log line records, when it is one that IPv4 cures. */
export function classifyFailure(line: string): DeliveryFailure | undefined {
  if (delivered(line)) return undefined;
  const d = parseDeliveryLine(line);
  if (!d || /^sent\b/i.test(d.status)) return undefined;
  const base = { mta: d.mta, domain: d.domain, host: d.host, address: d.address, excerpt: d.text.slice(0, EXCERPT) };
  // sendmail could not open an IPv6 socket at all: no address was reached, the relay names the domain.
  if (d.mta === 'sendmail' && d.address === undefined && BIND_TEXT.test(d.text)) return { ...base, class: 'bind', signal: 'eafnosupport' };
  const connect = connectFailure(d);
  if (connect) return { ...base, ...connect };
  if (d.address === undefined || isIP(d.address) !== 6) return undefined;
  const reply = unwrapped(d.text);
  const ptr = PTR_TEXTS.find(([pattern]) => pattern.test(reply));
  if (ptr) return { ...base, class: 'ptr', signal: ptr[1] };
  if (d.dsn === '5.7.25' || d.dsn === '4.7.25') return { ...base, class: 'ptr', signal: 'dsn-5.7.25' };
  const auth = AUTH_TEXTS.find(([pattern]) => pattern.test(reply));
  if (auth) return { ...base, class: 'auth6', signal: auth[1] };
  if (d.dsn === '5.7.26' || d.dsn === '4.7.26') return { ...base, class: 'auth6', signal: 'dsn-5.7.26' };
  return undefined;
}

/**
 * An IPv6 connection that failed: the address is the relay's (sendmail) or, for Postfix's `relay=none`,
 * the one in its own `connect to HOST[ADDR]:PORT:` text at the start of the status.
 */
function connectFailure(d: DeliveryLine): { class: 'connect'; signal: string; host?: string; address: string } | undefined {
  const m = CONNECT_TEXTS.exec(d.text);
  if (!m) return undefined;
  if (d.address !== undefined) return isIP(d.address) === 6 ? { class: 'connect', signal: signalOf(m[1]), address: d.address } : undefined;
  if (d.mta !== 'postfix' || !d.text.startsWith('connect to ')) return undefined;
  const target = d.text.slice('connect to '.length, d.text.indexOf(': ', 'connect to '.length));
  const open = target.indexOf('[');
  const close = target.lastIndexOf(']');
  if (open <= 0 || close < open) return undefined;
  const host = target.slice(0, open).toLowerCase().replace(/\.$/, '');
  const address = target.slice(open + 1, close);
  if (!isHostName(host) || isIP(address) !== 6) return undefined;
  return { class: 'connect', signal: signalOf(m[1]), host, address };
}

function signalOf(reason: string): string {
  return reason.toLowerCase().replace(/ /g, '-');
}
