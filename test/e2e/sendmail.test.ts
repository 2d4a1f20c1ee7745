/**
 * The real sendmail socket map client against the built `mx4map serve`, deciding from the fixture DNS.
 * Needs sendmail-bin, sendmail-cf, m4 and root (scripts/install-mtas.sh installs them; .ci/run runs it).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServeProcess } from '../support/cli';
import type { DnsFixture } from '../support/dns-fixture';
import { type ServeRig, startServeRig } from '../support/serve-rig';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  buildSendmailRig,
  mapResult,
  resolvedTriple,
  sendmailMissing,
  type SendmailRig,
  staticCombinedLines,
  staticCombinedMcLines,
} from '../support/sendmail';
import { describeRequiring } from '../support/requires';

const describeWithSendmail = describeRequiring(sendmailMissing(), 'real-sendmail tests');

describeWithSendmail('sendmail -bt with Kmailertable socket -t -d5 (from cf-snippets/sendmail.mc)', () => {
  let served: ServeRig;
  let dns: DnsFixture;
  let serve: ServeProcess;
  let rig: SendmailRig;
  beforeAll(async () => {
    served = await startServeRig();
    ({ dns, serve } = served);
    rig = buildSendmailRig(`inet:${serve.port}@127.0.0.1`);
  });
  afterAll(() => served.close());

  test('the test .cf declares the map exactly as the snippet does', () => {
    expect(readFileSync(rig.cf, 'utf8')).toContain(`Kmailertable socket -t -d5 inet:${serve.port}@127.0.0.1`);
  });

  test('/map mailertable returns the forced route for a domain whose MX host is a CNAME', async () => {
    expect(mapResult(await rig.test(['/map mailertable cname-mx.test']))).toBe('map_lookup: mailertable (cname-mx.test) returns esmtp:[192.0.2.10] (0)');
  });

  test('/map mailertable of a domain with working IPv6 is "no match"', async () => {
    expect(mapResult(await rig.test(['/map mailertable ipv6-ok.test']))).toMatch(/^map_lookup: mailertable \(ipv6-ok\.test\) no match/);
  });

  test('ruleset 0 resolves a forced domain to esmtp and its IPv4 literals, preference groups kept', async () => {
    const triple = resolvedTriple(await rig.test(['3,0 user@multi.test']));
    expect(triple).toBe('$# esmtp $@ [ 192 . 0 . 2 . 5 ] , [ 192 . 0 . 2 . 3 ] , [ 192 . 0 . 2 . 1 ] : [ 192 . 0 . 2 . 4 ] $: user < @ multi . test >');
  });

  test('ruleset 0 leaves an untouched domain to normal routing; the .parent keys never reach DNS', async () => {
    const before = dns.queries.length;
    const triple = resolvedTriple(await rig.test(['3,0 user@a.ipv6-ok.test']));
    expect(triple).toBe('$# esmtp $@ a . ipv6-ok . test $: user < @ a . ipv6-ok . test >');
    // sendmail asked a.ipv6-ok.test, .ipv6-ok.test, .test and .; only the first is a domain to decide.
    expect(dns.queries.slice(before)).toEqual(['a.ipv6-ok.test MX']);
  });

  test("a domain forced by its CNAME MX that publishes MTA-STS keeps sendmail's MX routing (and with it FEATURE(sts))", async () => {
    const triple = resolvedTriple(await rig.test(['3,0 user@sts.test']));
    expect(triple).toBe('$# esmtp $@ sts . test $: user < @ sts . test >');
  });

  test('a null-MX domain is left for sendmail to bounce itself', async () => {
    expect(mapResult(await rig.test(['/map mailertable null-mx.test']))).toMatch(/no match/);
  });
});

describeWithSendmail('sendmail over a UNIX socket, laid out as the systemd unit does (/run/…, mode 0755)', () => {
  let served: ServeRig;
  let dir: string;
  beforeAll(async () => {
    // sendmail refuses sockets below a group- or world-writable directory, /tmp included.
    dir = mkdtempSync('/run/mx4map-test-');
    chmodSync(dir, 0o755);
    served = await startServeRig([], `unix:${dir}/mx4map.sock`);
  });
  afterAll(async () => {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the UNIX form of the snippet answers', async () => {
    const rig = buildSendmailRig(`unix:${dir}/mx4map.sock`);
    expect(mapResult(await rig.test(['/map mailertable cname-mx.test']))).toBe('map_lookup: mailertable (cname-mx.test) returns esmtp:[192.0.2.10] (0)');
  });

  test('a group-writable socket directory is refused by sendmail, as the README warns', async () => {
    chmodSync(dir, 0o775);
    try {
      const out = await buildSendmailRig(`unix:${dir}/mx4map.sock`).test(['/map mailertable cname-mx.test'], { allowFailure: true });
      expect(out).toMatch(/local socket name .* unsafe: Group writable directory/);
    } finally {
      chmodSync(dir, 0o755);
    }
  });
});

describeWithSendmail('sendmail with a static mailertable first and mx4map second (cf-snippets/sendmail-with-static.mc and .cf)', () => {
  let served: ServeRig;
  let serve: ServeProcess;
  let dir: string;
  beforeAll(async () => {
    served = await startServeRig(['--map', 'mx4map=sendmail:esmtp']);
    serve = served.serve;
    // The static map's directory must be safe for sendmail too (not under /tmp).
    dir = mkdtempSync('/run/mx4map-test-');
    chmodSync(dir, 0o755);
    execFileSync('makemap', ['hash', join(dir, 'mailertable')], { input: 'static.example\tesmtp:[198.51.100.1]\ncname-mx.test\tesmtp:[198.51.100.2]\n' });
  });
  afterAll(async () => {
    await served.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rigs: Record<string, (spec: string) => SendmailRig> = {
    // sendmail.mc with the .mc snippet, built by m4 as a rebuild would.
    'sendmail.mc': (spec) => buildSendmailRig(spec, undefined, staticCombinedMcLines(spec, join(dir, 'mailertable'))),
    // A hand-edited sendmail.cf.
    'sendmail.cf': (spec) => buildSendmailRig(spec, () => staticCombinedLines(spec, join(dir, 'mailertable'))),
  };
  test.each(Object.keys(rigs))('static entries win; the rest is answered by mx4map (%s)', async (kind) => {
    const rig = rigs[kind](`inet:${serve.port}@127.0.0.1`);
    expect(readFileSync(rig.cf, 'utf8')).toMatch(/^Kmailertable_static .*\nKmx4map socket .*\n(?:.*\n)*Kmailertable sequence mailertable_static mx4map$/m);
    const out = await rig.test([
      '/map mailertable static.example',
      '/map mailertable cname-mx.test',
      '/map mailertable no-aaaa.test',
      '/map mailertable nxdomain.test',
    ]);
    const results = out
      .split('\n')
      .filter((l) => l.includes('map_lookup:'))
      .map((l) => l.replace(/^>\s*/, ''));
    expect(results).toEqual([
      'map_lookup: mailertable (static.example) returns esmtp:[198.51.100.1] (0)',
      'map_lookup: mailertable (cname-mx.test) returns esmtp:[198.51.100.2] (0)',
      'map_lookup: mailertable (no-aaaa.test) returns esmtp:[192.0.2.20] (0)',
      'map_lookup: mailertable (nxdomain.test) no match (68)',
    ]);
  });
});
