/**
 * The real sendmail socket map client against the mx4map server. Needs sendmail-bin, sendmail-cf, m4 and
 * root (scripts/install-mtas.sh installs them; .ci/run runs it).
 */
import { readFileSync } from 'node:fs';
import { startServer, TestServer } from '../support/server';
import { buildSendmailRig, mapResult, resolvedTriple, sendmailMissing, SendmailRig } from '../support/sendmail';
import { Decider } from '../../src/engine/decision';

const missing = sendmailMissing();
if (missing) console.warn(`SKIPPING real-sendmail tests: ${missing}. Run scripts/install-mtas.sh as root to enable them.`);
const describeWithSendmail = missing ? describe.skip : describe;

/** Forces one domain, leaves the rest: enough to see both answers travel through sendmail's rules. */
const decider: Decider = {
  decide: (domain) =>
    domain === 'cname-mx.test'
      ? { action: 'force-ipv4', triggers: ['cname-mx'], routes: [['192.0.2.10', '192.0.2.11'], ['192.0.2.20']] }
      : { action: 'leave', reason: 'ipv6-ok' },
};

describeWithSendmail('sendmail -bt with Kmailertable socket -t -d5 (from cf-snippets/sendmail.mc)', () => {
  let server: TestServer;
  let rig: SendmailRig;
  beforeAll(async () => {
    server = await startServer({ decider });
    rig = buildSendmailRig(`inet:${server.port}@127.0.0.1`);
  });
  afterAll(() => server.close());

  test('the test .cf declares the map exactly as the snippet does', () => {
    expect(readFileSync(rig.cf, 'utf8')).toContain(`Kmailertable socket -t -d5 inet:${server.port}@127.0.0.1`);
  });

  test('/map mailertable returns the forced route', async () => {
    const out = await rig.test(['/map mailertable cname-mx.test']);
    expect(mapResult(out)).toBe('map_lookup: mailertable (cname-mx.test) returns esmtp:[192.0.2.10],[192.0.2.11]:[192.0.2.20] (0)');
  });

  test('/map mailertable of an untouched domain is "no match"', async () => {
    expect(mapResult(await rig.test(['/map mailertable example.com']))).toMatch(/^map_lookup: mailertable \(example\.com\) no match/);
  });

  test('ruleset 0 resolves a forced domain to esmtp and the IPv4 literals', async () => {
    const triple = resolvedTriple(await rig.test(['3,0 user@cname-mx.test']));
    expect(triple).toBe('$# esmtp $@ [ 192 . 0 . 2 . 10 ] , [ 192 . 0 . 2 . 11 ] : [ 192 . 0 . 2 . 20 ] $: user < @ cname-mx . test >');
  });

  test('ruleset 0 leaves an untouched domain to normal routing, after the .parent walk', async () => {
    const requests: string[] = [];
    const seen = (domain: string) => requests.push(domain);
    const original = decider.decide;
    decider.decide = (d) => (seen(d), original(d));
    try {
      const triple = resolvedTriple(await rig.test(['3,0 user@a.example.com']));
      expect(triple).toBe('$# esmtp $@ a . example . com $: user < @ a . example . com >');
    } finally {
      decider.decide = original;
    }
    // Only the full name reaches the decision; .example.com, .com and . are answered at once.
    expect(requests).toEqual(['a.example.com']);
  });

  test('the keys sendmail sends on the wire: full name, then .parent … walk', async () => {
    const before = server.registry.counters.lookups;
    await rig.test(['3,0 user@a.b.example.org']);
    // a.b.example.org, .b.example.org, .example.org, .org, .
    expect(server.registry.counters.lookups - before).toBe(5);
  });
});
