/**
 * One delivery attempt as an MTA logs it, read by position, never by searching: the reply text of a
 * remote server (and a client's HELO, on other lines) is chosen by strangers, so a field is taken only where
 * the MTA writes it. A delivery line is `<program>[<pid>]: <queue id>: to=…, …` with fields separated by
 * ", " in the MTA's order; the reply text comes last (Postfix `status=WORD (TEXT)`, sendmail `stat=TEXT`,
 * after an optional `reply=TEXT`) and is never searched for fields. Every step moves forward through the
 * line, so the time is linear in its length. Pure.
 *
 * Postfix (smtp, lmtp): `to=<rcpt>, [orig_to=<…>,] relay=host[addr]:port, …, dsn=X.Y.Z, status=WORD (TEXT)`
 * sendmail: `to=rcpt[,rcpt…], [ctladdr=…,] delay=…, …, relay=host. [IPv6:addr], dsn=X.Y.Z, [reply=TEXT,] stat=TEXT`
 */
import { isIP } from 'node:net';
import { isHostName } from '../domain/key.js';

/** Longest line looked at: a log line is a few hundred bytes; a longer one is not an MTA's. */
export const MAX_LINE = 8192;

export interface DeliveryLine {
  readonly mta: 'postfix' | 'sendmail';
  /** The first recipient's domain (lower case, no trailing dot). */
  readonly domain: string;
  /** The relay's host name (lower case, no trailing dot); undefined when the MTA logged none (`relay=none`, `[addr]`). */
  readonly host: string | undefined;
  /** The relay's address; undefined when the MTA logged none (sendmail's `[]` when the connect failed). */
  readonly address: string | undefined;
  readonly dsn: string | undefined;
  /** Postfix's status word (sent, deferred, bounced); sendmail's stat text up to its first ":". */
  readonly status: string;
  /** The remote server's reply, or the MTA's own account of the failure: text to match, never to parse. */
  readonly text: string;
}

const POSTFIX_PROGRAMS = /\/(smtp|lmtp)$/;
const SENDMAIL_PROGRAMS = /^(sendmail|sm-mta)$/;
const QUEUE_ID = /^[A-Za-z0-9]{1,32}$/;
const DSN = /^[245]\.\d{1,3}\.\d{1,3}$/;

export function parseDeliveryLine(line: string): DeliveryLine | undefined {
  if (line.length > MAX_LINE) return undefined;
  // The program tag: the first "]: " ends `program[pid]` (a syslog header has no "]").
  const tagEnd = line.indexOf(']: ');
  if (tagEnd < 0) return undefined;
  const open = line.lastIndexOf('[', tagEnd);
  const programStart = line.lastIndexOf(' ', open) + 1;
  if (open < 0 || !/^\d+$/.test(line.slice(open + 1, tagEnd))) return undefined;
  const program = line.slice(programStart, open);
  const mta = POSTFIX_PROGRAMS.test(program) ? 'postfix' : SENDMAIL_PROGRAMS.test(program) ? 'sendmail' : undefined;
  if (!mta) return undefined;
  const idEnd = line.indexOf(': ', tagEnd + 3);
  if (idEnd < 0 || !QUEUE_ID.test(line.slice(tagEnd + 3, idEnd)) || !line.startsWith('to=', idEnd + 2)) return undefined;
  const fields = readFields(line, idEnd + 2, mta === 'postfix' ? 'status' : 'stat');
  if (!fields) return undefined;
  const domain = recipientDomain(fields.get('to') ?? '');
  const relay = mta === 'postfix' ? postfixRelay(fields.get('relay')) : sendmailRelay(fields.get('relay'));
  if (!domain || !relay) return undefined;
  const dsn = fields.get('dsn');
  const last = fields.get(mta === 'postfix' ? 'status' : 'stat') ?? '';
  const [status, text] = mta === 'postfix' ? postfixStatus(last) : [last.split(':')[0], [fields.get('reply'), last].filter(Boolean).join(' ')];
  return { mta, domain, host: relay.host, address: relay.address, dsn: dsn !== undefined && DSN.test(dsn) ? dsn : undefined, status, text };
}

/**
 * `name=value, name=value, …, last=rest of the line`: values end at the next ", " (the <…> of to= and
 * orig_to= at its ">"); sendmail's reply= runs to ", stat=". Undefined when the line is not of this shape.
 */
function readFields(line: string, start: number, last: string): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  let at = start;
  while (at < line.length) {
    const eq = line.indexOf('=', at);
    if (eq < 0) return undefined;
    const name = line.slice(at, eq);
    if (!/^[a-z_]{1,16}$/.test(name)) return undefined;
    if (name === last) {
      fields.set(name, line.slice(eq + 1));
      return fields;
    }
    let end: number;
    if (name === 'reply') {
      end = line.indexOf(`, ${last}=`, eq + 1);
    } else if (line.startsWith('<', eq + 1) && (name === 'to' || name === 'orig_to')) {
      const close = line.indexOf('>', eq + 1);
      end = close < 0 ? -1 : line.indexOf(', ', close);
    } else {
      end = line.indexOf(', ', eq + 1);
    }
    if (end < 0) return undefined;
    if (!fields.has(name)) fields.set(name, line.slice(eq + 1, end));
    at = end + 2;
  }
  return undefined;
}

/** The domain of the first recipient of `<a@b>` or `a@b,<c@d>`. */
function recipientDomain(to: string): string | undefined {
  const first = to.split(',')[0].replace(/^<|>$/g, '');
  const at = first.lastIndexOf('@');
  const domain =
    at < 0
      ? ''
      : first
          .slice(at + 1)
          .toLowerCase()
          .replace(/\.$/, '');
  return isHostName(domain) ? domain : undefined;
}

/** `host[addr]:port` or `none`. */
function postfixRelay(value: string | undefined): { host?: string; address?: string } | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return {};
  const open = value.indexOf('[');
  const close = value.indexOf(']', open);
  if (open <= 0 || close < 0) return undefined;
  return checked(value.slice(0, open), value.slice(open + 1, close));
}

/** `host. [IPv6:addr]`, `host. [addr]`, `[addr] [addr]`, `host. []`. */
function sendmailRelay(value: string | undefined): { host?: string; address?: string } | undefined {
  if (value === undefined) return undefined;
  const space = value.indexOf(' ');
  if (space < 0) return undefined;
  const name = value.slice(0, space);
  const bracketed = value.slice(space + 1);
  if (!bracketed.startsWith('[') || !bracketed.endsWith(']')) return undefined;
  const address = bracketed.slice(1, -1).replace(/^IPv6:/i, '');
  return checked(name.startsWith('[') ? '' : name, address);
}

/** Keeps only a valid host name and a valid address; undefined when either is present and invalid. */
function checked(name: string, address: string): { host?: string; address?: string } | undefined {
  const host = name.toLowerCase().replace(/\.$/, '');
  if (host !== '' && !isHostName(host)) return undefined;
  if (address !== '' && isIP(address) === 0) return undefined;
  return { ...(host ? { host } : {}), ...(address ? { address } : {}) };
}

/** `bounced (TEXT)` → [bounced, TEXT]. */
function postfixStatus(value: string): [string, string] {
  const space = value.indexOf(' ');
  if (space < 0) return [value, ''];
  const text = value.slice(space + 1);
  return [value.slice(0, space), text.startsWith('(') && text.endsWith(')') ? text.slice(1, -1) : text];
}
