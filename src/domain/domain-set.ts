/**
 * Sets of domain patterns, as the operator writes them for `never`, `force_ipv4`, `strict_receivers` and
 * `local_domains`. A pattern is an exact domain (`example.com`) or, as in sendmail's mailertable, a `.suffix` that matches
 * every name below it (`.example.com` matches `mx.example.com`, not `example.com`). List items that are
 * absolute paths name files of patterns, one per line, `#` starting a comment. A force_ipv4 pattern ending
 * in `!` forces the domain even when it publishes DANE or MTA-STS (see protection.ts).
 */
import { ConfigError } from '../errors.js';
import { isHostName } from './key.js';
import { domainToASCII } from 'node:url';
import { FileReadError, readRegularFile } from '../files/regular-file.js';

/** Largest pattern file read (a million domains fit in about 30 MB). */
export const MAX_PATTERN_FILE_BYTES = 64 * 1024 * 1024;

export class DomainSet {
  private readonly exact = new Set<string>();
  private readonly suffixes = new Set<string>();
  /** Patterns written with a trailing `!` (force_ipv4: force even a domain that publishes DANE or MTA-STS). */
  private readonly marked = new DomainSetPart();
  /** Order-independent digest of the patterns held, to tell a reloaded set from an unchanged one. */
  private sum = 0;
  private xor = 0;

  add(pattern: string, marked = false): void {
    const into = pattern.startsWith('.') ? this.suffixes : this.exact;
    const key = pattern.startsWith('.') ? pattern.slice(1) : pattern;
    if (marked && !this.marked.has(pattern)) {
      this.marked.add(pattern);
      this.mix(`${pattern}!`);
    }
    if (into.has(key)) return;
    into.add(key);
    this.mix(pattern);
  }

  private mix(pattern: string): void {
    const h = fnv1a(pattern);
    this.sum = (this.sum + h) >>> 0;
    this.xor = (this.xor ^ Math.imul(h, 0x9e3779b1)) >>> 0;
  }

  get size(): number {
    return this.exact.size + this.suffixes.size;
  }

  /** Equal for sets holding the same patterns, whatever their order. */
  get fingerprint(): string {
    return `${this.size}:${this.sum.toString(16)}:${this.xor.toString(16)}`;
  }

  has(domain: string): boolean {
    return matches(this.exact, this.suffixes, domain);
  }

  /** Whether a pattern written with `!` matches `domain`. */
  isMarked(domain: string): boolean {
    return this.marked.matches(domain);
  }
}

/** The marked patterns of a set, held apart. */
class DomainSetPart {
  private readonly exact = new Set<string>();
  private readonly suffixes = new Set<string>();

  has(pattern: string): boolean {
    return pattern.startsWith('.') ? this.suffixes.has(pattern.slice(1)) : this.exact.has(pattern);
  }

  add(pattern: string): void {
    if (pattern.startsWith('.')) this.suffixes.add(pattern.slice(1));
    else this.exact.add(pattern);
  }

  matches(domain: string): boolean {
    return matches(this.exact, this.suffixes, domain);
  }
}

/** An exact name, or a suffix of it at a label boundary (`.example.com` matches `mx.example.com`). */
function matches(exact: ReadonlySet<string>, suffixes: ReadonlySet<string>, domain: string): boolean {
  if (exact.has(domain)) return true;
  if (suffixes.size === 0) return false;
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
    if (suffixes.has(domain.slice(dot + 1))) return true;
  }
  return false;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Normalises one pattern, or returns why it is not one. */
export function normalisePattern(text: string): string | { problem: string } {
  const raw = text.trim().toLowerCase().replace(/\.$/, '');
  // domainToASCII stops at the first '/', '?', '#' …: `etc/mx4map/never.list` would become the pattern `etc`.
  if (raw.includes('/')) return { problem: `"${text}", a relative path: name pattern files by absolute paths (/etc/mx4map/never.list)` };
  if (/[\\?#:@\s]/.test(raw)) return { problem: `"${text}" is not a domain or .suffix pattern` };
  const suffix = raw.startsWith('.');
  const body = domainToASCII(suffix ? raw.slice(1) : raw);
  if (!isHostName(body)) return { problem: `"${text}" is not a domain or .suffix pattern` };
  return suffix ? `.${body}` : body;
}

export function isPatternFile(item: string): boolean {
  return item.startsWith('/');
}

function readPatternFile(path: string, option: string): string {
  try {
    return readRegularFile(path, MAX_PATTERN_FILE_BYTES);
  } catch (err) {
    if (err instanceof FileReadError) throw new ConfigError(`${option} file ${path} ${err.reason}`);
    throw err;
  }
}

interface PatternLine {
  readonly text: string;
  /** Where it was written: the option, or the file and line. */
  readonly file?: string;
  readonly line?: number;
}

function* patternLines(items: readonly string[], option: string): Generator<PatternLine> {
  for (const item of items) {
    if (!isPatternFile(item)) {
      yield { text: item };
      continue;
    }
    // Line by line, never split whole: a file of a million lines is not copied into an array first.
    const text = readPatternFile(item, option);
    for (let start = 0, number = 1; start < text.length; number++) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline;
      const line = text.slice(start, end);
      const hash = line.indexOf('#');
      const content = (hash >= 0 ? line.slice(0, hash) : line).trim();
      if (content !== '') yield { text: content, file: item, line: number };
      start = end + 1;
    }
  }
}

/** The option whose patterns may end in `!`. */
const MARKABLE = 'force_ipv4';

function addPattern(set: DomainSet, p: PatternLine, option: string): void {
  const text = p.text.trim();
  const marked = text.endsWith('!');
  const where = p.file ? `${p.file}:${p.line} (${option})` : option;
  if (marked && option !== MARKABLE)
    throw new ConfigError(`${where}: "${text}": only force_ipv4 patterns may end in "!" (force even when the domain publishes DANE or MTA-STS)`);
  const pattern = normalisePattern(marked ? text.slice(0, -1) : text);
  if (typeof pattern !== 'string') throw new ConfigError(`${where}: ${pattern.problem}`);
  set.add(pattern, marked);
}

/** Builds a domain set from inline patterns and pattern files, read now. Throws ConfigError. */
export function buildDomainSet(items: readonly string[], option: string): DomainSet {
  const set = new DomainSet();
  for (const p of patternLines(items, option)) addPattern(set, p, option);
  return set;
}

/** Patterns parsed between two turns of the event loop when building a set in the background. */
const PATTERNS_PER_TURN = 2000;

/**
 * The same, without holding the event loop: files of hundreds of thousands of patterns are parsed in slices,
 * so lookups keep being answered while a reload reads them.
 */
export async function buildDomainSetInSlices(items: readonly string[], option: string): Promise<DomainSet> {
  const set = new DomainSet();
  let n = 0;
  for (const p of patternLines(items, option)) {
    addPattern(set, p, option);
    if (++n % PATTERNS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return set;
}
