/**
 * The one table of tunable options: file key, flag, environment variable, type, default, unit and meaning all
 * come from here, as do the README's option table and `check-config`'s output. Hard protocol limits that are
 * not tunable live in ../limits.ts.
 */
import { Endpoint, parseEndpoint } from '../protocol/endpoint.js';
import { EndpointError } from '../errors.js';
import { MapDefinition, mapDefinitions } from './map-definitions.js';
import { ValueKind, ValueProblem, duration, fileMode, integer, listOf, oneOf, text } from './values.js';

export interface OptionSpec<T> {
  readonly kind: ValueKind<T>;
  readonly default: NoInfer<T>;
  /** Unit of a bare number, for the option table. */
  readonly unit: string;
  readonly describe: string;
  /** Whether a SIGHUP reload can apply a change (otherwise it is logged and needs a restart). */
  readonly reloadable: boolean;
  /** Flag name when it is not the kebab-case of the key (e.g. `--map` for `maps`). */
  readonly flag?: string;
}

function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

const endpoint: ValueKind<Endpoint> = {
  syntax: 'inet:PORT@HOST | inet6:PORT@HOST | unix:/path',
  parse(value) {
    if (typeof value !== 'string') throw new ValueProblem('must be a socket spec such as inet:8425@127.0.0.1');
    try {
      return parseEndpoint(value);
    } catch (err) {
      if (err instanceof EndpointError) throw new ValueProblem(`is wrong: ${err.message}`);
      throw err;
    }
  },
  show: (e) => e.spec,
};

const SECOND = 1000;
const HOUR = 3_600_000;

export const OPTIONS = {
  listen: option({
    kind: listOf(endpoint),
    default: [parseEndpoint('inet:8425@127.0.0.1')] as readonly Endpoint[],
    unit: '-',
    describe: 'Where to listen, in sendmail socket syntax; repeat for several. Loopback by default: the protocol has no authentication.',
    reloadable: false,
  }),
  socketMode: option({
    kind: fileMode,
    default: 0o660,
    unit: 'octal',
    describe: 'File mode of UNIX listening sockets.',
    reloadable: false,
  }),
  socketGroup: option({
    kind: text((v) => {
      if (v !== '' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v)) throw new ValueProblem(`must be a group name or number, got "${v}"`);
    }),
    default: '',
    unit: '-',
    describe: 'Group (name or number) given to UNIX listening sockets; empty keeps the process group.',
    reloadable: false,
  }),
  maps: option({
    kind: mapDefinitions,
    default: mapDefinitions.parse('mailertable=sendmail:esmtp,transport=postfix:smtp') as readonly MapDefinition[],
    unit: '-',
    flag: 'map',
    describe: 'Map names answered, each with its answer format (sendmail or postfix) and mailer/transport name. Other names get PERM.',
    reloadable: true,
  }),
  maxConnections: option({
    kind: integer(1, 1_000_000),
    default: 1024,
    unit: 'connections',
    describe: 'Connections served at once; further clients wait, unserved, until one closes.',
    reloadable: true,
  }),
  maxInFlight: option({
    kind: integer(1, 10_000),
    default: 32,
    unit: 'requests',
    describe: 'Requests worked on at once per connection (pipelining); past it the server stops reading that socket.',
    reloadable: true,
  }),
  maxRequestBytes: option({
    kind: integer(64, 1_000_000),
    default: 10_000,
    unit: 'bytes',
    describe: "Largest request netstring accepted (Postfix's own query limit); longer ones get PERM and the connection closes.",
    reloadable: true,
  }),
  requestTimeout: option({
    kind: duration('ms', 100, HOUR),
    default: 10 * SECOND,
    unit: 'ms',
    describe: 'A request that has started arriving must be complete within this time, or the connection is closed (stops slow-drip clients).',
    reloadable: true,
  }),
  idleTimeout: option({
    kind: duration('ms', 0, 24 * HOUR),
    default: 0,
    unit: 'ms',
    describe: 'Close connections idle this long; 0 = never. sendmail keeps one connection per process and defers the next lookup after a close, so leave it off.',
    reloadable: true,
  }),
  shutdownGrace: option({
    kind: duration('ms', 0, 10 * 60 * SECOND),
    default: 5 * SECOND,
    unit: 'ms',
    describe: 'On SIGTERM/SIGINT, time allowed for requests in flight to be answered before connections are closed.',
    reloadable: true,
  }),
  logLevel: option({
    kind: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    default: 'info',
    unit: '-',
    describe: 'Least severe log level written (JSON lines on stdout).',
    reloadable: true,
  }),
} as const;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<K extends OptionName> = ReturnType<(typeof OPTIONS)[K]['kind']['parse']>;

/** The effective configuration: one typed, frozen value per option. */
export type Config = { readonly [K in OptionName]: ValueOf<K> };

export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

/** `maxInFlight` -> `max_in_flight` (file key). */
export function fileKey(name: OptionName): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `maxInFlight` -> `max-in-flight` (flag). */
export function flagName(name: OptionName): string {
  return (OPTIONS[name] as OptionSpec<unknown>).flag ?? fileKey(name).replace(/_/g, '-');
}

/** `maxInFlight` -> `MX4MAP_MAX_IN_FLIGHT`. */
export function envName(name: OptionName): string {
  return `MX4MAP_${fileKey(name).toUpperCase()}`;
}

export function defaults(): Config {
  const out: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) out[name] = OPTIONS[name].default;
  return Object.freeze(out) as Config;
}
