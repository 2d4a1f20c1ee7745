/**
 * The `maps` option: which map names the server answers and in which MTA's answer format.
 * File form:   maps: { mailertable: { format: sendmail, mailer: esmtp }, transport: { format: postfix } }
 * Flag form:   --map mailertable=sendmail:esmtp --map transport=postfix   (env: comma-separated)
 * A Postfix map may keep the next hop: `{ format: postfix, mailer: smtp4, nexthop: domain }` (flag form
 * `transport=postfix:smtp4:domain`) answers `smtp4:`, an empty next hop, so Postfix routes by MX as usual
 * (DANE and MTA-STS intact) through a master.cf service that connects over IPv4 only.
 */
import { type ValueKind, ValueProblem, describe } from '../text/values.js';

/** The answer formats: sendmail's mailertable, Postfix's transport table. */
export const MAP_FORMATS = ['sendmail', 'postfix'] as const;
export type MapFormat = (typeof MAP_FORMATS)[number];

/** literal: route to the IPv4 addresses found (`esmtp:[192.0.2.1]`); domain: keep the recipient domain as next hop. */
export const NEXTHOPS = ['literal', 'domain'] as const;
export type Nexthop = (typeof NEXTHOPS)[number];

export interface MapDefinition {
  readonly name: string;
  readonly format: MapFormat;
  /** sendmail mailer name (an M line such as esmtp) or Postfix transport name (a master.cf service such as smtp). */
  readonly mailer: string;
  readonly nexthop: Nexthop;
}

/** The mailer a map answers with when none is named: sendmail's esmtp, Postfix's smtp. */
export const DEFAULT_MAILER: Record<MapFormat, string> = { sendmail: 'esmtp', postfix: 'smtp' };
/** What each format's table is called, for messages and file headers. */
export const TABLE_NAMES: Record<MapFormat, string> = { sendmail: 'sendmail mailertable', postfix: 'Postfix transport' };
const MAP_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MAILER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `name` can be a sendmail mailer or a Postfix transport (an M line, a master.cf service). */
export function isMailerName(name: string): boolean {
  return MAILER_NAME.test(name);
}

function isMapFormat(format: unknown): format is MapFormat {
  return MAP_FORMATS.includes(format as MapFormat);
}

function definition(name: string, format: unknown, mailer: unknown, nexthop: unknown = 'literal'): MapDefinition {
  if (!MAP_NAME.test(name)) throw new ValueProblem(`has map name ${describe(name)}: use letters, digits, '_', '.' or '-'`);
  if (!isMapFormat(format)) {
    throw new ValueProblem(`gives map "${name}" format ${describe(format)}: use ${MAP_FORMATS.join(' or ')}`);
  }
  const m = mailer ?? DEFAULT_MAILER[format];
  if (typeof m !== 'string' || !MAILER_NAME.test(m)) {
    throw new ValueProblem(`gives map "${name}" mailer ${describe(m)}: use a mailer/transport name such as ${DEFAULT_MAILER[format]}`);
  }
  if (nexthop !== 'literal' && nexthop !== 'domain') throw new ValueProblem(`gives map "${name}" nexthop ${describe(nexthop)}: use literal or domain`);
  if (nexthop === 'domain' && format !== 'postfix') {
    // sendmail picks the address family per connection for all mailers (ClientPortOptions), not per mailer.
    throw new ValueProblem(
      `gives map "${name}" nexthop domain: only Postfix can keep the next hop and still deliver over IPv4 only (a master.cf service with -o inet_protocols=ipv4); sendmail maps route to IP literals`,
    );
  }
  return Object.freeze({ name, format, mailer: m, nexthop });
}

function fromText(item: string): MapDefinition {
  const m = /^([^=\s]+)=([a-z]+)(?::([^:]*))?(?::(.*))?$/.exec(item.trim());
  if (!m)
    throw new ValueProblem(`has ${describe(item)}: write NAME=FORMAT[:MAILER[:NEXTHOP]], e.g. mailertable=sendmail:esmtp or transport=postfix:smtp4:domain`);
  return definition(m[1], m[2], m[3], m[4]);
}

const KNOWN_FIELDS = new Set(['format', 'mailer', 'nexthop']);

function fromMapping(value: Record<string, unknown>): MapDefinition[] {
  return Object.entries(value).map(([name, body]) => {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new ValueProblem(`gives map "${name}" ${describe(body)}: write { format: sendmail|postfix, mailer: NAME }`);
    }
    for (const field of Object.keys(body)) {
      if (!KNOWN_FIELDS.has(field)) throw new ValueProblem(`gives map "${name}" unknown field "${field}" (known: format, mailer, nexthop)`);
    }
    const { format, mailer, nexthop } = body as Record<string, unknown>;
    return definition(name, format, mailer, nexthop);
  });
}

export const mapDefinitions: ValueKind<readonly MapDefinition[]> = {
  syntax: 'NAME=sendmail|postfix[:MAILER[:literal|domain]], repeatable',
  isList: true,
  parse(value) {
    let defs: MapDefinition[];
    if (typeof value === 'string')
      defs = value
        .split(',')
        .filter((s) => s.trim())
        .map(fromText);
    else if (Array.isArray(value)) defs = value.map((item) => (typeof item === 'string' ? fromText(item) : fromMapping(item as Record<string, unknown>)[0]));
    else if (value !== null && typeof value === 'object') defs = fromMapping(value as Record<string, unknown>);
    else throw new ValueProblem(`must name at least one map, got ${describe(value)}`);
    if (defs.length === 0) throw new ValueProblem('must name at least one map');
    const seen = new Set<string>();
    for (const d of defs) {
      if (seen.has(d.name)) throw new ValueProblem(`names map "${d.name}" twice`);
      seen.add(d.name);
    }
    return Object.freeze(defs);
  },
  show: (defs) => defs.map((d) => `${d.name}=${d.format}:${d.mailer}${d.nexthop === 'domain' ? ':domain' : ''}`).join(', '),
};
