/**
 * The one table of tunable options: file key, flag, environment variable, type, default, unit and meaning all
 * come from here, as do the README's option table and `check-config`'s output. Hard protocol limits that are
 * not tunable live in ../limits.ts.
 */
import { type MapDefinition, mapDefinitions } from '../maps/definitions.js';
import { type Endpoint, parseEndpoint } from '../protocol/endpoint.js';
import type { DnsServer } from '../dns/transport.js';
import { type ValueKind, ValueProblem, autoOr, boolean, duration, fileMode, integer, listOf, oneOf, text } from '../text/values.js';
import { RULE_TRIGGERS, SECURE_DOMAIN_POLICIES, type Trigger } from '../engine/decision.js';
import { sharedCacheSpec } from '../shared/redis-spec.js';
import { dnsServer, domainPattern, endpoint, forcePattern, httpListen, ownAddress, sourceAddress } from './option-kinds.js';

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

export const ALL_TRIGGERS: readonly Trigger[] = RULE_TRIGGERS;

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
    kind: autoOr(integer(1, 1_000_000)),
    default: 'auto' as number | 'auto',
    unit: 'connections',
    describe:
      'Client connections held at once. auto: the open-file limit minus a reserve for DNS, probes, the ops listener and files (check-config shows the figure). At the cap the connection idle longest is closed to admit a new one; when none is idle the new one is closed.',
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
    describe:
      "Largest request kept in memory. A longer one is read past without being stored and answered NOTFOUND; a length over 1,000,000 (sendmail's own limit) gets PERM and the connection closes.",
    reloadable: true,
  }),
  requestTimeout: option({
    kind: duration('ms', 100, HOUR),
    default: 10 * SECOND,
    unit: 'ms',
    describe: 'A request that has started arriving must be complete within this time, or the connection is closed (stops slow-drip clients).',
    reloadable: true,
  }),
  replyMaxAge: option({
    kind: duration('ms', 100, 10 * 60 * SECOND),
    default: 4 * SECOND,
    unit: 'ms',
    describe:
      "No reply is written for a request older than this (counted from its first byte, stalls included): the connection is closed instead, since the MTA has given up and would read a late reply as the answer to its next lookup. Keep deadline < reply_max_age < the MTA's timeout (sendmail's -d).",
    reloadable: true,
  }),
  idleTimeout: option({
    kind: duration('ms', 0, 24 * HOUR),
    default: 0,
    unit: 'ms',
    describe:
      'Close connections idle this long; 0 = never. sendmail keeps one connection per process and defers the next lookup after a close, so leave it off.',
    reloadable: true,
  }),
  shutdownGrace: option({
    kind: duration('ms', 0, 10 * 60 * SECOND),
    default: 5 * SECOND,
    unit: 'ms',
    describe: 'On SIGTERM/SIGINT, time allowed for requests in flight to be answered before connections are closed.',
    reloadable: true,
  }),
  dns: option({
    kind: listOf(dnsServer),
    default: [] as readonly DnsServer[],
    unit: '-',
    describe: "DNS servers asked, in order; repeat for several. Default (none given): the system's resolvers.",
    reloadable: false,
  }),
  dnsTimeout: option({
    kind: duration('ms', 50, 30 * SECOND),
    default: 1000,
    unit: 'ms',
    describe: 'Time allowed for one DNS query to one server (UDP, and TCP after a truncated answer).',
    reloadable: false,
  }),
  dnsAttempts: option({
    kind: integer(1, 5),
    default: 2,
    unit: 'rounds',
    describe: 'Rounds over the DNS server list before a query counts as failed.',
    reloadable: false,
  }),
  dnsMaxInFlight: option({
    kind: integer(1, 10_000),
    default: 256,
    unit: 'queries',
    describe:
      "DNS queries in flight at once, server-wide (each holds one socket). A query that cannot start before its lookup's deadline is not sent: the lookup fails open. Its sockets are kept out of the connection cap.",
    reloadable: false,
  }),
  deadline: option({
    kind: duration('ms', 10, 60 * SECOND),
    default: 3 * SECOND,
    unit: 'ms',
    describe:
      "Every answer leaves within this time; an undecided domain gets NOTFOUND (reason deadline) and its decision is cached when done. Keep it below sendmail's -d.",
    reloadable: true,
  }),
  onDnsFailure: option({
    kind: oneOf(['notfound', 'temp'] as const),
    default: 'notfound',
    unit: '-',
    describe: 'Answer to a DNS failure: notfound (fail open: mail routes as usual) or temp (the MTA defers the mail).',
    reloadable: true,
  }),
  triggers: option({
    kind: listOf(oneOf(ALL_TRIGGERS)),
    default: ALL_TRIGGERS,
    unit: '-',
    describe:
      'Triggers that force IPv4: cname-mx (an MX host is an alias), no-aaaa, aaaa-error (AAAA lookup fails while A works), ipv6-unreachable (no IPv6 SMTP answer), sender-ipv6-unready (our IPv6 source has no PTR matching forward, and the MX hosts are strict_receivers).',
    reloadable: true,
  }),
  probe: option({
    kind: boolean,
    default: true,
    unit: '-',
    describe: 'Probe IPv6 SMTP on MX hosts that have AAAA records. --no-probe treats present AAAA records as working.',
    reloadable: true,
  }),
  maxProbes: option({
    kind: integer(0, 100),
    default: 6,
    unit: 'probes',
    describe:
      "Most IPv6 probes one lookup may send (two per MX host at most, most preferred hosts first). A probe that cannot start before the lookup's deadline is not sent, and the lookup fails open.",
    reloadable: true,
  }),
  probePort: option({
    kind: integer(1, 65535),
    default: 25,
    unit: 'port',
    describe: 'TCP port probed on IPv6 addresses.',
    reloadable: false,
  }),
  probeTimeout: option({
    kind: duration('ms', 50, 60 * SECOND),
    default: 2 * SECOND,
    unit: 'ms',
    describe: 'Time allowed for a probe to connect and read a 220 greeting.',
    reloadable: false,
  }),
  probeConcurrency: option({
    kind: integer(1, 10_000),
    default: 64,
    unit: 'probes',
    describe: 'Probes running at once, server-wide.',
    reloadable: false,
  }),
  probeOkTtl: option({
    kind: duration('s', 1000, 7 * 24 * HOUR),
    default: HOUR,
    unit: 's',
    describe: 'How long a successful probe of an address is remembered.',
    reloadable: false,
  }),
  probeFailTtl: option({
    kind: duration('s', 1000, 7 * 24 * HOUR),
    default: 10 * 60 * SECOND,
    unit: 's',
    describe: 'How long a failed probe of an address is remembered.',
    reloadable: false,
  }),
  minTtl: option({
    kind: duration('s', 0, 24 * HOUR),
    default: 5 * SECOND,
    unit: 's',
    describe: 'Shortest time a decision is cached, whatever the DNS TTLs say.',
    reloadable: true,
  }),
  maxTtl: option({
    kind: duration('s', 1000, 7 * 24 * HOUR),
    default: HOUR,
    unit: 's',
    describe: 'Longest time a decision is cached, whatever the DNS TTLs say.',
    reloadable: true,
  }),
  failureTtl: option({
    kind: duration('s', 0, HOUR),
    default: 5 * SECOND,
    unit: 's',
    describe: 'How long a DNS failure is remembered before the domain is asked again.',
    reloadable: true,
  }),
  staleTtl: option({
    kind: duration('s', 0, 7 * 24 * HOUR),
    default: 24 * HOUR,
    unit: 's',
    describe:
      'How long an expired decision is kept to be answered when its refresh fails (DNS trouble, the deadline): a forced domain stays forced through a resolver restart (RFC 8767 serve-stale). NXDOMAIN, null MX or a new decision replace it at once. 0 = off.',
    reloadable: true,
  }),
  refreshAhead: option({
    kind: integer(0, 50),
    default: 10,
    unit: '%',
    describe:
      "A hit in the last part of a decision's lifetime (this share of it) answers from the cache and refreshes the decision in the background, so busy domains never wait for DNS or a probe. 0 = off.",
    reloadable: true,
  }),
  cacheSize: option({
    kind: integer(1, 100_000_000),
    default: 100_000,
    unit: 'domains',
    describe: 'Decisions kept (least recently used go first).',
    reloadable: true,
  }),
  hostCacheSize: option({
    kind: integer(1, 100_000_000),
    default: 50_000,
    unit: 'hosts',
    describe: 'MX host facts kept, shared by every domain naming the host; also the number of probe verdicts kept.',
    reloadable: false,
  }),
  cacheSnapshot: option({
    kind: text((v) => {
      if (v.endsWith('/')) throw new ValueProblem('must name a file, not a directory');
    }),
    default: '',
    unit: '-',
    describe:
      'File the decision cache is saved to (atomically, on a timer and at shutdown) and restored from at start, so a restart causes no DNS storm; expired entries are dropped, a corrupt file is logged and ignored. Empty = off.',
    reloadable: false,
  }),
  cacheSnapshotInterval: option({
    kind: duration('s', 10 * SECOND, 24 * HOUR),
    default: 5 * 60 * SECOND,
    unit: 's',
    describe: 'How often the cache snapshot is saved (when cache_snapshot is set).',
    reloadable: false,
  }),
  sharedCache: option({
    kind: sharedCacheSpec,
    default: undefined,
    unit: '-',
    describe:
      'Redis or Valkey shared by a fleet of mx4map instances (redis://host:6379/0, rediss://…, unix:/path?db=0, redis-sentinel://host:26379,…/master/0): local misses read decisions, MX host facts and probe verdicts there first, fresh ones are written back, and one instance probes an address for all. Redis down or slow costs at most shared_read_budget per miss: answers then come from local caches and DNS. Empty = off.',
    reloadable: false,
  }),
  sharedCachePasswordFile: option({
    kind: text((v) => {
      if (v !== '' && !v.startsWith('/')) throw new ValueProblem('must be an absolute path');
    }),
    default: '',
    unit: '-',
    describe:
      'File holding the shared cache password (its first line), so the password is not in the configuration or the process list. Empty = the password in shared_cache, if any.',
    reloadable: false,
  }),
  sharedCacheKeyFile: option({
    kind: text((v) => {
      if (v !== '' && !v.startsWith('/')) throw new ValueProblem('must be an absolute path');
    }),
    default: '',
    unit: '-',
    describe:
      "File holding the fleet's secret (its first line, at least 32 characters, the same on every instance; openssl rand -base64 32): every value written to the shared cache is sealed with it (HMAC-SHA256 over key, expiry and value) and a value that does not check out is never believed. Required with shared_cache.",
    reloadable: false,
  }),
  sharedReadBudget: option({
    kind: duration('ms', 1, 1000),
    default: 50,
    unit: 'ms',
    describe: 'Longest a local miss waits for the shared cache (never past the deadline) before deciding from DNS.',
    reloadable: true,
  }),
  maxAddresses: option({
    kind: integer(1, 100),
    default: 10,
    unit: 'addresses',
    describe: 'Most addresses kept per MX host, and most IPv4 addresses in one answer (most preferred first), before anything is cached, logged or saved.',
    reloadable: true,
  }),
  maxMxHosts: option({
    kind: integer(1, 100),
    default: 10,
    unit: 'hosts',
    describe: 'Most MX hosts considered per domain, most preferred first (a zone may name thousands).',
    reloadable: true,
  }),
  secureDomains: option({
    kind: oneOf(SECURE_DOMAIN_POLICIES),
    default: 'skip',
    unit: '-',
    describe:
      "A domain to be forced that publishes DANE (TLSA records, with dnssec: trust-ad) or MTA-STS (a _mta-sts TXT record), on maps that route to IP literals: skip answers NOTFOUND (reason dane or mta-sts), so the MTA's own MX routing keeps the protection; warn forces it and logs at warn; force forces it and looks nothing up. Maps with nexthop: domain keep the protection and are always forced.",
    reloadable: true,
  }),
  dnssec: option({
    kind: oneOf(['off', 'trust-ad'] as const),
    default: 'off',
    unit: '-',
    describe:
      'trust-ad: ask with DNSSEC OK and believe the AD bit of the answers, which DANE detection needs. Only for a validating resolver on this host or a trusted link (Unbound, BIND, Knot Resolver): anyone between a remote resolver and us can set AD.',
    reloadable: false,
  }),
  postfixSingleNexthop: option({
    kind: boolean,
    default: false,
    unit: '-',
    describe: 'Postfix maps answer one next hop only (for Postfix before 3.5, which takes no next-hop lists).',
    reloadable: true,
  }),
  dryRun: option({
    kind: boolean,
    default: false,
    unit: '-',
    describe: 'Answer NOTFOUND to everything but log each decision as it would have been answered: a safe first rollout.',
    reloadable: true,
  }),
  never: option({
    kind: listOf(domainPattern),
    default: [] as readonly string[],
    unit: '-',
    describe: 'Domains never forced (NOTFOUND, no DNS): example.com, .example.com (names below it), or /path/file of them, one per line, # comments.',
    reloadable: true,
  }),
  forceIpv4: option({
    kind: listOf(forcePattern),
    default: [] as readonly string[],
    unit: '-',
    describe:
      'Domains forced onto IPv4 whatever the triggers say (NXDOMAIN and null MX still win); same patterns and files as never. Forced domains that publish DANE or MTA-STS follow secure_domains, unless the pattern ends in ! (example.com!): then they are forced, and nothing is looked up.',
    reloadable: true,
  }),
  localDomains: option({
    kind: listOf(domainPattern),
    default: [] as readonly string[],
    unit: '-',
    describe:
      "Domains this host delivers itself ($mydestination, virtual and relay domains): answered NOTFOUND (reason local) without DNS, so the MTA delivers them. This host's own name is always local; same patterns and files as never.",
    reloadable: true,
  }),
  localAddresses: option({
    kind: listOf(ownAddress),
    default: [] as readonly string[],
    unit: '-',
    describe:
      "Addresses or prefixes that are this host's besides those of its interfaces (NAT, anycast, proxies). A domain whose MX hosts resolve to one of this host's addresses is answered NOTFOUND (reason local), never routed to ourselves.",
    reloadable: true,
  }),
  ipv6Source: option({
    kind: listOf(sourceAddress),
    default: [] as readonly string[],
    unit: '-',
    describe:
      "IPv6 addresses this host's MTAs send mail from (several for several MTA instances), checked for a PTR record whose name resolves back to the address. Empty: the kernel's source address for a global destination, found without sending anything; none (no global IPv6) leaves sender-ipv6-unready inert.",
    reloadable: true,
  }),
  strictReceivers: option({
    kind: listOf(domainPattern),
    default: ['.google.com', '.googlemail.com', '.freenet.de', '.mail.protection.outlook.com', '.mx.microsoft', '.comcast.net'] as readonly string[],
    unit: '-',
    describe:
      'MX host names of receivers that reject IPv6 mail from a sender without matching reverse DNS (sender-ipv6-unready): name, .suffix, or /path/file of them (mx4map learn writes one). Default: Google (Gmail and Workspace), freenet.de, Microsoft Exchange Online and Comcast.',
    reloadable: true,
  }),
  deliveryLog: option({
    kind: listOf(
      text((v) => {
        if (!v.startsWith('/')) throw new ValueProblem(`has "${v}": name the log by its absolute path (/var/log/maillog)`);
      }),
    ),
    default: [] as readonly string[],
    unit: '-',
    describe:
      "MTA logs to follow (sendmail's or Postfix's, e.g. /var/log/maillog, /var/log/mail.log); repeat for several. A delivery that failed over IPv6 in a way IPv4 cures (our IPv6 socket, reverse DNS, SPF/DKIM, repeated connect failures) forces its domain onto IPv4 (ipv6-delivery-failed). Read from the end, through rotation. Empty = off.",
    reloadable: true,
  }),
  evidenceTtl: option({
    kind: duration('s', 60 * SECOND, 90 * 24 * HOUR),
    default: 7 * 24 * HOUR,
    unit: 's',
    describe:
      'How long a failure read in delivery_log forces its domain onto IPv4; a new failure renews it. Then the domain goes back to what DNS says, so a receiver that fixed its IPv6 gets IPv6 mail again (after one more failed attempt if it did not).',
    reloadable: true,
  }),
  maxEvidence: option({
    kind: integer(100, 10_000_000),
    default: 100_000,
    unit: 'entries',
    describe: 'Most pieces of delivery-log evidence kept (per domain and per MX host); the least recently seen go first.',
    reloadable: true,
  }),
  http: option({
    kind: httpListen,
    default: undefined,
    unit: '-',
    describe:
      'HOST:PORT for the operations listener (GET /metrics, /healthz, /decisions, /domain?name=…), e.g. 127.0.0.1:9425; empty = off. No authentication: keep it on loopback.',
    reloadable: false,
  }),
  httpExposeDomains: option({
    kind: boolean,
    default: false,
    unit: '-',
    describe:
      'Serve /decisions and /domain, which name recipient domains, on an ops listener that is not on loopback (/metrics and /healthz are served either way). On loopback they always are.',
    reloadable: false,
  }),
  logLevel: option({
    kind: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    default: 'info',
    unit: '-',
    describe: 'Least severe log level written (JSON lines on stdout).',
    reloadable: true,
  }),
  logFormat: option({
    kind: oneOf(['json', 'text'] as const),
    default: 'json',
    unit: '-',
    reloadable: false,
    describe:
      'json: one JSON object per line. text: `level: message key=value …`, for mail.log; under systemd each line carries its syslog priority (<4> for warn) and the journal adds time and pid.',
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
