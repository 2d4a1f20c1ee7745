/**
 * Builds the effective configuration from its four sources, highest first: flags, environment (`MX4MAP_*`),
 * the YAML file, defaults. Pure apart from `readConfigFile`; validates everything and never mutates its input.
 */
import { existsSync } from 'node:fs';
import { FileReadError, readRegularFile } from '../files/regular-file.js';
import type { parseDocument as ParseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { type Config, OPTIONS, OPTION_NAMES, type OptionName, envName, fileKey, flagName } from './options.js';
import { ValueProblem, showMs } from '../text/values.js';

export const DEFAULT_CONFIG_PATH = '/etc/mx4map/mx4map.yml';
export const CONFIG_ENV = 'MX4MAP_CONFIG';
/** A configuration file is a few kilobytes; anything far larger is a mistake (or a device). */
const MAX_CONFIG_BYTES = 1024 * 1024;

export type RawValues = Partial<Record<OptionName, unknown>>;

export interface ConfigSources {
  /** Values given as flags, already keyed by option name. */
  readonly flags: RawValues;
  /** The process environment; only `MX4MAP_*` variables are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The parsed file, if any, and its path for messages. */
  readonly file?: { readonly path: string; readonly values: Readonly<Record<string, unknown>> };
}

const BY_FILE_KEY = new Map(OPTION_NAMES.map((n) => [fileKey(n), n]));
const BY_ENV_NAME = new Map(OPTION_NAMES.map((n) => [envName(n), n]));

function parseValue(name: OptionName, raw: unknown, where: string): unknown {
  try {
    return OPTIONS[name].kind.parse(raw);
  } catch (err) {
    if (err instanceof ValueProblem) throw new ConfigError(`${where} ${err.message}`);
    throw err;
  }
}

export function resolveConfig(sources: ConfigSources): Config {
  const out: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) out[name] = OPTIONS[name].default;

  if (sources.file) {
    const { path, values } = sources.file;
    for (const [key, raw] of Object.entries(values)) {
      const name = BY_FILE_KEY.get(key);
      if (!name) throw new ConfigError(`unknown key "${key}" in ${path} (known keys: ${[...BY_FILE_KEY.keys()].join(', ')})`);
      out[name] = parseValue(name, raw, `key "${key}" in ${path}`);
    }
  }
  for (const [variable, raw] of Object.entries(sources.env)) {
    if (!variable.startsWith('MX4MAP_') || variable === CONFIG_ENV || raw === undefined) continue;
    const name = BY_ENV_NAME.get(variable);
    if (!name) throw new ConfigError(`unknown environment variable ${variable} (known: ${[...BY_ENV_NAME.keys(), CONFIG_ENV].join(', ')})`);
    out[name] = parseValue(name, raw, `environment variable ${variable}`);
  }
  for (const name of OPTION_NAMES) {
    const raw = sources.flags[name];
    if (raw !== undefined) out[name] = parseValue(name, raw, `--${flagName(name)}`);
  }
  const config = Object.freeze(out) as Config;
  checkCombinations(config);
  return config;
}

/** Rules between options, checked once every source is merged (start, check-config, every reload). */
const COMBINATIONS: ReadonlyArray<(c: Config) => string | undefined> = [
  (c) =>
    c.deadline < c.replyMaxAge
      ? undefined
      : `deadline (${showMs(c.deadline)}) must be below reply_max_age (${showMs(c.replyMaxAge)}): an answer given at the deadline must still be young enough to be written`,
  (c) => (c.minTtl <= c.maxTtl ? undefined : `min_ttl (${showMs(c.minTtl)}) must not be above max_ttl (${showMs(c.maxTtl)})`),
];

function checkCombinations(config: Config): void {
  for (const rule of COMBINATIONS) {
    const problem = rule(config);
    if (problem) throw new ConfigError(problem);
  }
}

/** Parses YAML text; the top level must be a mapping (or empty). */
export function parseConfigText(text: string, path: string): Record<string, unknown> {
  const doc = yamlParser()(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = first.linePos?.[0].line;
    throw new ConfigError(`${path}${line ? `:${line}` : ''} is not valid YAML: ${first.message.split('\n')[0]}`);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // yaml refuses aliases that expand far past the text ("Excessive alias count …"): one line, exit 2.
    throw new ConfigError(`${path} is not usable YAML: ${(err as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${path} must hold a mapping of option keys, like "max_connections: 1024"`);
  return value as Record<string, unknown>;
}

/**
 * Reads the configuration file: the one named (flag or MX4MAP_CONFIG), which must exist, or the default
 * path when it exists, or none.
 */
export function readConfigFile(explicitPath: string | undefined): ConfigSources['file'] {
  const path = explicitPath ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readRegularFile(path, MAX_CONFIG_BYTES);
  } catch (err) {
    if (err instanceof FileReadError) throw new ConfigError(`configuration file ${path} ${err.reason}`);
    throw err;
  }
  return { path, values: parseConfigText(text, path) };
}

/**
 * The configuration file `loadConfig` reads for these arguments (--config, MX4MAP_CONFIG, else the default
 * path when it exists), or undefined. An empty path (`--config ''`, `MX4MAP_CONFIG=`) means no file at all,
 * not even the default one.
 */
export function configFileRead(configPath: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = configPath ?? env[CONFIG_ENV];
  if (path === '') return undefined;
  return path ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
}

/** Loads everything for `serve`, `check-config` and reloads: the file configFileRead names, environment, flags, defaults. */
export function loadConfig(flags: RawValues, configPath: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  const path = configFileRead(configPath, env);
  return resolveConfig({ flags, env, file: path === undefined ? undefined : readConfigFile(path) });
}

/** Names of options whose effective value differs between two configurations (compared as shown). */
export function changedOptions(before: Config, after: Config): OptionName[] {
  return OPTION_NAMES.filter((n) => showOption(n, before) !== showOption(n, after));
}

export function showOption(name: OptionName, config: Config): string {
  const kind = OPTIONS[name].kind as { show(v: unknown): string };
  return kind.show(config[name]);
}

/** The YAML parser, loaded when a file is read: a server run on flags alone never pays its ~25 ms of start-up. */
function yamlParser(): typeof ParseDocument {
  return (require('yaml') as typeof import('yaml')).parseDocument;
}
