import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changedOptions, loadConfig, parseConfigText, resolveConfig } from '../../src/config/load';
import { defaults } from '../../src/config/options';
import { ConfigError } from '../../src/errors';

const file = (values: Record<string, unknown>) => ({ path: '/etc/mx4map/mx4map.yml', values });

describe('configuration sources and precedence', () => {
  test('defaults when nothing is given', () => {
    const c = resolveConfig({ flags: {}, env: {} });
    expect(c.maxConnections).toBe('auto');
    expect(c.replyMaxAge).toBe(4000);
    expect(c.maxRequestBytes).toBe(10_000);
    expect(c.requestTimeout).toBe(10_000);
    expect(c.idleTimeout).toBe(0);
    expect(c.shutdownGrace).toBe(5000);
    expect(c.listen.map((e) => e.spec)).toEqual(['inet:8425@127.0.0.1']);
    expect(c.maps.map((m) => `${m.name}=${m.format}:${m.mailer}`)).toEqual(['mailertable=sendmail:esmtp', 'transport=postfix:smtp']);
  });

  test('flags > environment > file > defaults, key by key', () => {
    const c = resolveConfig({
      file: file({ max_connections: 10, max_in_flight: 5, request_timeout: '3s', idle_timeout: 60 }),
      env: { MX4MAP_MAX_CONNECTIONS: '20', MX4MAP_MAX_IN_FLIGHT: '6', PATH: '/bin' },
      flags: { maxConnections: '30' },
    });
    expect(c.maxConnections).toBe(30);
    expect(c.maxInFlight).toBe(6);
    expect(c.requestTimeout).toBe(3000);
    expect(c.idleTimeout).toBe(60);
    expect(c.shutdownGrace).toBe(5000);
  });

  test('lists: YAML sequences, repeated flags and comma-separated environment values', () => {
    expect(resolveConfig({ flags: {}, env: {}, file: file({ listen: ['inet:1@127.0.0.1', 'unix:/run/x.sock'] }) }).listen.map((e) => e.spec)).toEqual([
      'inet:1@127.0.0.1',
      'unix:/run/x.sock',
    ]);
    expect(resolveConfig({ flags: {}, env: { MX4MAP_LISTEN: 'inet:1@127.0.0.1, inet6:2@[::1]' } }).listen.map((e) => e.spec)).toEqual([
      'inet:1@127.0.0.1',
      'inet6:2@[::1]',
    ]);
    expect(resolveConfig({ flags: { listen: ['inet:3@127.0.0.1'] }, env: {} }).listen).toHaveLength(1);
  });

  test('maps in file form and flag form', () => {
    const fromFile = resolveConfig({
      flags: {},
      env: {},
      file: file({ maps: { mailertable: { format: 'sendmail', mailer: 'relay' }, tr: { format: 'postfix' } } }),
    });
    expect(fromFile.maps).toEqual([
      { name: 'mailertable', format: 'sendmail', mailer: 'relay', nexthop: 'literal' },
      { name: 'tr', format: 'postfix', mailer: 'smtp', nexthop: 'literal' },
    ]);
    const fromFlags = resolveConfig({ flags: { maps: ['mt=sendmail', 'transport=postfix:smtp4'] }, env: {} });
    expect(fromFlags.maps.map((m) => `${m.name}:${m.mailer}`)).toEqual(['mt:esmtp', 'transport:smtp4']);
  });

  test('a Postfix map may keep the next hop; a sendmail one may not, and says why', () => {
    const flag = resolveConfig({ flags: { maps: ['transport=postfix:smtp4:domain'] }, env: {} });
    expect(flag.maps).toEqual([{ name: 'transport', format: 'postfix', mailer: 'smtp4', nexthop: 'domain' }]);
    const fromFile = resolveConfig({ flags: {}, env: {}, file: file({ maps: { transport: { format: 'postfix', mailer: 'smtp4', nexthop: 'domain' } } }) });
    expect(fromFile.maps[0].nexthop).toBe('domain');
    expect(() => resolveConfig({ flags: { maps: ['mt=sendmail:esmtp:domain'] }, env: {} })).toThrow(/only Postfix can keep the next hop/);
    expect(() => resolveConfig({ flags: {}, env: {}, file: file({ maps: { t: { format: 'postfix', nexthop: 'mx' } } }) })).toThrow(
      'gives map "t" nexthop "mx": use literal or domain',
    );
  });

  test('force_ipv4 patterns may end in "!"; never and local_domains patterns may not', () => {
    const c = resolveConfig({ flags: { forceIpv4: ['partner.example!', '.Sub.Example.'] }, env: {} });
    expect(c.forceIpv4).toEqual(['partner.example!', '.sub.example']);
    expect(() => resolveConfig({ flags: { never: ['partner.example!'] }, env: {} })).toThrow(/is not a domain/);
  });

  test('a relative file name in a pattern list is refused with one line, never taken for a domain', () => {
    for (const [option, value] of [
      ['strictReceivers', 'strict.list'],
      ['never', 'lists/never'],
      ['localDomains', './local.txt'],
      ['forceIpv4', 'partners.conf!'],
    ] as const) {
      expect(() => resolveConfig({ flags: { [option]: [value] }, env: {} })).toThrow(
        /a relative file name: name a pattern file by its absolute path \(\/etc\/mx4map\/[a-z.]+\)/,
      );
    }
    // Domains that only look like file names elsewhere stay domains; absolute paths stay files.
    expect(resolveConfig({ flags: { never: ['example.com', '.mail.example.net'], strictReceivers: ['/etc/mx4map/strict.list'] }, env: {} })).toMatchObject({
      never: ['example.com', '.mail.example.net'],
      strictReceivers: ['/etc/mx4map/strict.list'],
    });
  });

  test('durations take units; bare numbers are milliseconds', () => {
    const c = resolveConfig({ flags: { requestTimeout: '1.5s', shutdownGrace: '250', idleTimeout: '2m' }, env: {} });
    expect([c.requestTimeout, c.shutdownGrace, c.idleTimeout]).toEqual([1500, 250, 120_000]);
    const days = resolveConfig({ flags: { staleTtl: '2d' }, env: {} });
    expect(days.staleTtl).toBe(2 * 86_400_000);
    expect(() => resolveConfig({ flags: { staleTtl: '8d' }, env: {} })).toThrow('--stale-ttl must be from 0 to 7d, got 8d');
  });

  test('socket mode: an unquoted YAML 0660 (read as 660) is taken as octal', () => {
    const text = parseConfigText('socket_mode: 0660\n', 'x.yml');
    expect(resolveConfig({ flags: {}, env: {}, file: { path: 'x.yml', values: text } }).socketMode).toBe(0o660);
  });

  test('max_connections takes auto or a number', () => {
    expect(resolveConfig({ flags: { maxConnections: 'auto' }, env: {} }).maxConnections).toBe('auto');
    expect(resolveConfig({ flags: {}, env: { MX4MAP_MAX_CONNECTIONS: '500' } }).maxConnections).toBe(500);
  });

  test('the result is frozen', () => {
    const c = resolveConfig({ flags: {}, env: {} });
    expect(Object.isFrozen(c)).toBe(true);
  });
});

describe('configuration errors name what to fix', () => {
  test.each([
    [{ file: file({ max_conections: 5 }) }, /unknown key "max_conections" in \/etc\/mx4map\/mx4map.yml \(known keys: listen, /],
    [{ file: file({ max_connections: 'many' }) }, /key "max_connections" in \/etc\/mx4map\/mx4map.yml must be a whole number, got "many" \(or auto\)/],
    [{ file: file({ max_connections: 0 }) }, /must be from 1 to 1000000, got 0/],
    [{ env: { MX4MAP_MAX_CONECTIONS: '5' } }, /unknown environment variable MX4MAP_MAX_CONECTIONS/],
    [{ env: { MX4MAP_REQUEST_TIMEOUT: 'soon' } }, /environment variable MX4MAP_REQUEST_TIMEOUT must be a duration/],
    [{ flags: { listen: ['inet:8425'] } }, /--listen is wrong: socket spec "inet:8425" names no host/],
    [{ flags: { logLevel: 'loud' } }, /--log-level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/],
    [{ flags: { maps: ['mailertable=exim'] } }, /--map gives map "mailertable" format "exim": use sendmail or postfix/],
    [{ file: file({ maps: { m: { format: 'sendmail', mailr: 'x' } } }) }, /unknown field "mailr"/],
    [{ flags: { maps: ['a=sendmail', 'a=postfix'] } }, /names map "a" twice/],
    [{ file: file({ socket_mode: '0999' }) }, /octal file mode/],
    [
      { flags: { deadline: '5s' } },
      /^deadline \(5s\) must be below reply_max_age \(4s\): an answer given at the deadline must still be young enough to be written$/,
    ],
    [{ file: file({ deadline: '3s', reply_max_age: '3s' }) }, /deadline \(3s\) must be below reply_max_age \(3s\)/],
    [{ file: file({ min_ttl: '2h', max_ttl: '1h' }) }, /^min_ttl \(2h\) must not be above max_ttl \(1h\)$/],
    [{ flags: { ipv6Source: ['192.0.2.25'] } }, /--ipv6-source has "192.0.2.25", not an IPv6 address \(2001:db8::25\)/],
    [{ flags: { ipv6Source: ['fe80::25%eth0'] } }, /not an IPv6 address/],
    [{ file: file({ ipv6_source: ['::1'] }) }, /"::1", a special-purpose address \(loopback, link-local …\) that mail is not sent from/],
  ])('%#', (sources, message) => {
    expect(() => resolveConfig({ flags: {}, env: {}, ...sources })).toThrow(message);
  });

  test('a YAML syntax error names the file and line', () => {
    expect(() => parseConfigText('max_connections: 5\nlisten: [unclosed\n', '/x/mx4map.yml')).toThrow(/\/x\/mx4map.yml:\d+ is not valid YAML/);
  });

  test('a duplicated key is an error', () => {
    expect(() => parseConfigText('max_connections: 5\nmax_connections: 6\n', 'x.yml')).toThrow(ConfigError);
  });

  test('a file that is not a mapping is an error', () => {
    expect(() => parseConfigText('- a\n- b\n', 'x.yml')).toThrow(/must hold a mapping/);
  });

  test('a named file that is missing or unreadable is an error; an empty one is fine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cfg-'));
    expect(() => loadConfig({}, join(dir, 'missing.yml'), {})).toThrow(/configuration file .*missing.yml does not exist/);
    const empty = join(dir, 'empty.yml');
    writeFileSync(empty, '');
    expect(loadConfig({}, empty, {}).maxConnections).toBe('auto');
    expect(() => loadConfig({}, dir, {})).toThrow(/is a directory/);
    const locked = join(dir, 'locked.yml');
    writeFileSync(locked, 'max_connections: 3\n');
    chmodSync(locked, 0o000);
    if (process.getuid?.() !== 0) expect(() => loadConfig({}, locked, {})).toThrow(/not readable/);
    else expect(loadConfig({}, locked, {}).maxConnections).toBe(3); // root reads it anyway
  });

  test('MX4MAP_CONFIG names the file when --config does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cfg-'));
    const path = join(dir, 'c.yml');
    writeFileSync(path, 'max_in_flight: 7\n');
    expect(loadConfig({}, undefined, { MX4MAP_CONFIG: path }).maxInFlight).toBe(7);
  });
});

test('changedOptions lists exactly the options whose values differ', () => {
  const a = defaults();
  const b = resolveConfig({ flags: { maxInFlight: '3', logLevel: 'debug' }, env: {} });
  expect(changedOptions(a, b).sort()).toEqual(['logLevel', 'maxInFlight']);
  expect(changedOptions(a, defaults())).toEqual([]);
});
