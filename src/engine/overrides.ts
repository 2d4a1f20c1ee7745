/**
 * Operator overrides: `never` (always NOTFOUND, no DNS) and `force_ipv4` (force whatever the triggers say).
 * A pattern is an exact domain (`example.com`) or, as in sendmail's mailertable, a `.suffix` that matches
 * every name below it (`.example.com` matches `mx.example.com`, not `example.com`). List items that are
 * absolute paths name files of patterns, one per line, `#` starting a comment.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { isHostName } from '../domain/key.js';
import { domainToASCII } from 'node:url';

export class DomainSet {
  private readonly exact = new Set<string>();
  private readonly suffixes = new Set<string>();

  add(pattern: string): void {
    if (pattern.startsWith('.')) this.suffixes.add(pattern.slice(1));
    else this.exact.add(pattern);
  }

  get size(): number {
    return this.exact.size + this.suffixes.size;
  }

  has(domain: string): boolean {
    if (this.exact.has(domain)) return true;
    if (this.suffixes.size === 0) return false;
    for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.', dot + 1)) {
      if (this.suffixes.has(domain.slice(dot + 1))) return true;
    }
    return false;
  }
}

/** Normalises one pattern, or returns why it is not one. */
export function normalisePattern(text: string): string | { problem: string } {
  const raw = text.trim().toLowerCase().replace(/\.$/, '');
  const suffix = raw.startsWith('.');
  const body = domainToASCII(suffix ? raw.slice(1) : raw);
  if (!isHostName(body)) return { problem: `"${text}" is not a domain or .suffix pattern` };
  return suffix ? `.${body}` : body;
}

export function isPatternFile(item: string): boolean {
  return item.startsWith('/');
}

function readPatternFile(path: string, option: string, into: DomainSet): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${option} file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  text.split('\n').forEach((line, i) => {
    const content = line.replace(/#.*/, '').trim();
    if (content === '') return;
    const p = normalisePattern(content);
    if (typeof p !== 'string') throw new ConfigError(`${path}:${i + 1} (${option}): ${p.problem}`);
    into.add(p);
  });
}

/** Builds a domain set from inline patterns and pattern files (read now: at start and on every reload). */
export function buildDomainSet(items: readonly string[], option: string): DomainSet {
  const set = new DomainSet();
  for (const item of items) {
    if (isPatternFile(item)) readPatternFile(item, option, set);
    else {
      const p = normalisePattern(item);
      if (typeof p !== 'string') throw new ConfigError(`${option}: ${p.problem}`);
      set.add(p);
    }
  }
  return set;
}

export interface Overrides {
  readonly never: DomainSet;
  readonly force: DomainSet;
}

export function matchOverride(overrides: Overrides, domain: string): 'never' | 'force' | undefined {
  if (overrides.never.has(domain)) return 'never';
  return overrides.force.has(domain) ? 'force' : undefined;
}
