/**
 * Key normalisation, shared by every map: turns a raw lookup key into a domain to decide on, or a reason to
 * answer NOTFOUND at once without any DNS traffic.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

export type SkipReason =
  | 'empty' // nothing to look up
  | 'parent-walk' // sendmail's `.b.example.com` … `.` keys: deciding them would apply the policy to whole zones
  | 'wildcard' // Postfix's `*` probe
  | 'address-literal' // `[192.0.2.1]` or a bare IP address: already routed by address
  | 'invalid-name'; // not a host name (label rules, lengths, bytes)

export type KeyClass = { readonly kind: 'domain'; readonly domain: string } | { readonly kind: 'skip'; readonly reason: SkipReason };

const MAX_NAME = 253;
const MAX_LABEL = 63;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function skip(reason: SkipReason): KeyClass {
  return { kind: 'skip', reason };
}

export function classifyKey(raw: Buffer): KeyClass {
  if (raw.length === 0) return skip('empty');
  // A key far longer than any name cannot become one; stop before decoding it.
  if (raw.length > 1024) return skip('invalid-name');
  let text: string;
  try {
    text = isAsciiBytes(raw) ? raw.toString('latin1') : utf8.decode(raw);
  } catch {
    return skip('invalid-name');
  }
  return classifyKeyText(text);
}

/**
 * The common key, read straight from the request bytes: a lower-case LDH host name (an optional trailing dot
 * dropped), as sendmail and Postfix send it after folding case. Returns the domain, or undefined for anything
 * else, which `classifyKey` then classifies; for every key this returns, `classifyKey` gives the same domain.
 * No intermediate buffer or string: this runs for every cache hit.
 */
export function plainHostName(bytes: Buffer, start: number, end: number): string | undefined {
  if (end > start && bytes[end - 1] === 0x2e /* . */) end--;
  const length = end - start;
  if (length === 0 || length > MAX_NAME) return undefined;
  let labelStart = start;
  let allDigits = true;
  for (let i = start; i <= end; i++) {
    const c = i < end ? bytes[i] : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > MAX_LABEL || bytes[labelStart] === 0x2d || bytes[i - 1] === 0x2d) return undefined;
      // A numeric last label: an address literal or no name; classifyKey says which.
      if (i === end && allDigits) return undefined;
      labelStart = i + 1;
      allDigits = true;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) continue;
    allDigits = false;
    if (!((c >= 0x61 && c <= 0x7a) || c === 0x2d)) return undefined;
  }
  return bytes.toString('latin1', start, end);
}

export function classifyKeyText(key: string): KeyClass {
  // Postfix transport lookups send the whole recipient address; the domain follows the last '@'.
  const at = key.lastIndexOf('@');
  let name = (at >= 0 ? key.slice(at + 1) : key).toLowerCase();
  if (name.length === 0) return skip(at >= 0 ? 'invalid-name' : 'empty');
  if (name === '*') return skip('wildcard');
  if (name.charCodeAt(0) === 0x2e /* . */) return skip('parent-walk');
  if (name.charCodeAt(0) === 0x5b /* [ */) return skip('address-literal');
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (isIP(name) !== 0) return skip('address-literal');
  if (!isAscii(name)) {
    // Internationalised names are looked up in their A-label form; domainToASCII gives '' when it cannot.
    name = domainToASCII(name);
    if (name.length === 0) return skip('invalid-name');
  }
  return isHostName(name) ? { kind: 'domain', domain: name } : skip('invalid-name');
}

function isAsciiBytes(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Lower-case LDH host name: labels of 1–63 letters, digits and inner hyphens, at most 253 bytes, TLD not numeric. */
export function isHostName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME) return false;
  let labelStart = 0;
  let allDigits = true;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - labelStart;
      if (len === 0 || len > MAX_LABEL) return false;
      if (name.charCodeAt(labelStart) === 0x2d || name.charCodeAt(i - 1) === 0x2d) return false;
      if (i === name.length && allDigits) return false;
      labelStart = i + 1;
      allDigits = true;
      continue;
    }
    const digit = c >= 0x30 && c <= 0x39;
    if (!digit) allDigits = false;
    if (!(digit || (c >= 0x61 && c <= 0x7a) || c === 0x2d)) return false;
  }
  return true;
}
