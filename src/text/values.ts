/**
 * Value parsers for configuration options. Each takes what a YAML file, an environment variable or a flag
 * holds (`unknown`) and returns a typed value, or throws a message naming what is wrong; the caller adds
 * where the value came from.
 */

export interface ValueKind<T> {
  /** How the value is written, for the option table and error messages. */
  readonly syntax: string;
  /** Whether the flag takes no argument (`--dry-run`, `--no-probe`). */
  readonly isSwitch?: boolean;
  /** Whether the flag may be repeated and the file may hold a list. */
  readonly isList?: boolean;
  parse(value: unknown): T;
  /** How a value is shown in the effective configuration and the option table. */
  show(value: T): string;
}

export class ValueProblem extends Error {}

export function integer(min: number, max: number): ValueKind<number> {
  return {
    syntax: 'integer',
    parse(value) {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      // NaN: what yargs makes of a number flag given letters.
      if (!Number.isSafeInteger(n)) throw new ValueProblem(Number.isNaN(value) ? 'must be a whole number' : `must be a whole number, got ${describe(value)}`);
      if (n < min || n > max) throw new ValueProblem(`must be from ${min} to ${max}, got ${n}`);
      return n;
    },
    show: String,
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration, kept in milliseconds. A bare number is read in `bareUnit`; strings may carry a unit
 * (`500ms`, `10s`, `5m`, `1h`, `1d`). `min` and `max` are in milliseconds.
 */
export function duration(bareUnit: 'ms' | 's', min: number, max: number): ValueKind<number> {
  const scale = DURATION_UNITS[bareUnit];
  return {
    syntax: `duration (bare number = ${bareUnit}; or 500ms, 10s, 5m, 1h, 1d)`,
    parse(value) {
      let ms: number;
      if (typeof value === 'number') ms = value * scale;
      else if (typeof value === 'string') {
        const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
        if (!m) throw new ValueProblem(`must be a duration such as 500ms, 10s or 1h, got ${describe(value)}`);
        ms = Number(m[1]) * DURATION_UNITS[m[2] ?? bareUnit];
      } else throw new ValueProblem(`must be a duration such as 500ms, 10s or 1h, got ${describe(value)}`);
      if (!Number.isFinite(ms) || ms < 0) throw new ValueProblem(`must be a duration, got ${describe(value)}`);
      ms = Math.round(ms);
      if (ms < min || ms > max) throw new ValueProblem(`must be from ${showMs(min)} to ${showMs(max)}, got ${showMs(ms)}`);
      return ms;
    },
    show: showMs,
  };
}

export function showMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** `auto` (derived at start from the machine) or a value of `inner`. */
export function autoOr<T>(inner: ValueKind<T>): ValueKind<T | 'auto'> {
  return {
    syntax: `auto | ${inner.syntax}`,
    parse(value) {
      if (typeof value === 'string' && value.trim().toLowerCase() === 'auto') return 'auto';
      try {
        return inner.parse(value);
      } catch (err) {
        if (err instanceof ValueProblem) throw new ValueProblem(`${err.message} (or auto)`);
        throw err;
      }
    },
    show: (v) => (v === 'auto' ? 'auto' : inner.show(v)),
  };
}

export function oneOf<T extends string>(choices: readonly T[]): ValueKind<T> {
  return {
    syntax: choices.join(' | '),
    parse(value) {
      if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
      throw new ValueProblem(`must be one of ${choices.join(', ')}, got ${describe(value)}`);
    },
    show: String,
  };
}

export const boolean: ValueKind<boolean> = {
  syntax: 'true | false',
  isSwitch: true,
  parse(value) {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const v = value.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return true;
      if (['false', 'no', 'off', '0'].includes(v)) return false;
    }
    throw new ValueProblem(`must be true or false, got ${describe(value)}`);
  },
  show: String,
};

export function text(check?: (value: string) => void): ValueKind<string> {
  return {
    syntax: 'text',
    parse(value) {
      if (typeof value !== 'string') throw new ValueProblem(`must be text, got ${describe(value)}`);
      check?.(value);
      return value;
    },
    show: (v) => (v === '' ? '(none)' : v),
  };
}

/** A file mode such as 0660. YAML reads an unquoted 0660 as the decimal 660, so digits are taken as octal. */
export const fileMode: ValueKind<number> = {
  syntax: 'octal mode, e.g. 0660',
  parse(value) {
    const digits = typeof value === 'number' && Number.isInteger(value) ? String(value) : typeof value === 'string' ? value.trim() : '';
    if (!/^0?[0-7]{3}$/.test(digits)) throw new ValueProblem(`must be an octal file mode such as 0660, got ${describe(value)}`);
    return parseInt(digits, 8);
  },
  show: (v) => `0${v.toString(8).padStart(3, '0')}`,
};

/** A list of `inner` values: a YAML sequence, a repeated flag, or a comma-separated environment variable. */
export function listOf<T>(inner: ValueKind<T>): ValueKind<readonly T[]> {
  return {
    syntax: `${inner.syntax}, repeatable`,
    isList: true,
    parse(value) {
      const items = Array.isArray(value)
        ? value
        : typeof value === 'string'
          ? value
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : [value];
      return Object.freeze(
        items.map((item, i) => {
          try {
            return inner.parse(item);
          } catch (err) {
            if (err instanceof ValueProblem && items.length > 1) throw new ValueProblem(`item ${i + 1} ${err.message}`);
            throw err;
          }
        }),
      );
    },
    show: (v) => (v.length === 0 ? '(none)' : v.map((x) => inner.show(x)).join(', ')),
  };
}

export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
