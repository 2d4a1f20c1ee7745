import { judgeGreeting, probeSmtp } from '../../src/probe/smtp-probe';
import { refusingPort, startSmtpFixture, type SmtpBehaviour } from '../support/smtp-fixture';
import { Prober } from '../../src/probe/prober';
import { activeResources, expectNothingLeftSince } from '../support/handles';

describe('judgeGreeting', () => {
  test.each([
    ['220 mx ready\r\n', { outcome: 'ok', detail: 'greeting' }],
    ['220-first\r\n220 last\r\n', { outcome: 'ok', detail: 'greeting' }],
    ['220-first\r\n', undefined],
    ['220 partial', undefined],
    ['421 busy\r\n', { outcome: 'bad-greeting', detail: 'bad-greeting 421' }],
    ['554 no\r\n', { outcome: 'bad-greeting', detail: 'bad-greeting 554' }],
    ['HTTP/1.1 400\r\n', { outcome: 'garbage', detail: 'garbage' }],
    ['x'.repeat(600), { outcome: 'garbage', detail: 'garbage' }],
  ])('%j', (text, verdict) => expect(judgeGreeting(text)).toEqual(verdict));
});

describe('probeSmtp against fake endpoints on [::1]', () => {
  test.each<[SmtpBehaviour, boolean, string]>([
    ['greet', true, 'greeting'],
    ['multiline', true, 'greeting'],
    ['trickle', true, 'greeting'],
    ['tempfail', false, 'bad-greeting 421'],
    ['garbage', false, 'garbage'],
    ['silent', false, 'timeout'],
    ['reset', false, 'reset'],
  ])('%s → ok=%s (%s), and the probe leaves no socket or timer behind', async (behaviour, ok, detail) => {
    const smtp = await startSmtpFixture(behaviour);
    try {
      // Counted while the endpoint still runs: its side of the connection closes only if the probe closes ours.
      const resources = activeResources();
      const r = await probeSmtp('::1', smtp.port, 500);
      expect({ ok: r.ok, detail: r.detail }).toEqual({ ok, detail });
      if (ok) await new Promise((resolve) => setTimeout(resolve, 50));
      if (ok) expect(smtp.received.join(' ')).toContain('QUIT');
      await expectNothingLeftSince(resources);
    } finally {
      await smtp.close();
    }
  });

  test('refused', async () => {
    expect(await probeSmtp('::1', await refusingPort(), 500)).toMatchObject({ ok: false, detail: 'refused' });
  });
});

describe('Prober', () => {
  test('one probe per address per lifetime; concurrent askers share it', async () => {
    const smtp = await startSmtpFixture('greet');
    try {
      let sent = 0;
      // The documentation address stands for the fake endpoint on [::1].
      const prober = new Prober({ port: smtp.port, timeoutMs: 500, okTtlMs: 60_000, failTtlMs: 1000, concurrency: 2, cacheSize: 10 }, (_a, p, t) => {
        sent++;
        return probeSmtp('::1', p, t);
      });
      const verdicts = await Promise.all([prober.check('2001:db8::a'), prober.check('2001:db8::a'), prober.check('2001:db8::a')]);
      expect(verdicts.every((v) => v?.ok)).toBe(true);
      expect((await prober.check('2001:db8::a'))?.cached).toBe(true);
      expect(sent).toBe(1);
      expect(smtp.connections).toBe(1);
    } finally {
      await smtp.close();
    }
  });

  test('probes beyond the concurrency cap wait their turn', async () => {
    let running = 0;
    let peak = 0;
    const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 1000, failTtlMs: 1000, concurrency: 2, cacheSize: 10 }, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return { ok: true, outcome: 'ok' as const, detail: 'greeting', ms: 20 };
    });
    await Promise.all(['2001:db8::1', '2001:db8::2', '2001:db8::3', '2001:db8::4', '2001:db8::5'].map((a) => prober.check(a)));
    expect(peak).toBe(2);
  });

  test('a probe that cannot start before its deadline is not sent (undefined), and is counted', async () => {
    let release: () => void = () => undefined;
    const prober = new Prober(
      { port: 25, timeoutMs: 100, okTtlMs: 1000, failTtlMs: 1000, concurrency: 1, cacheSize: 10 },
      () => new Promise((resolve) => (release = () => resolve({ ok: true, outcome: 'ok' as const, detail: 'greeting', ms: 1 }))),
    );
    const first = prober.check('2001:db8::1');
    expect(await prober.check('2001:db8::2', performance.now() + 20)).toBeUndefined();
    expect(prober.refused).toBe(1);
    release();
    expect(await first).toMatchObject({ ok: true });
  });

  test.each(['::1', '::', 'fe80::1', 'ff02::1', '::ffff:192.0.2.1', 'not-an-address'])('%s is never probed', async (address) => {
    const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 1000, failTtlMs: 1000, concurrency: 1, cacheSize: 10 }, () =>
      Promise.reject(new Error('probed')),
    );
    expect(await prober.check(address)).toBeUndefined();
  });

  test('a refresh ahead of expiry probes again a verdict in its last tenth, and only then (injected clock)', async () => {
    const clock = { now: 0 };
    let sent = 0;
    const prober = new Prober(
      { port: 25, timeoutMs: 100, okTtlMs: 1000, failTtlMs: 1000, concurrency: 1, cacheSize: 10 },
      async () => ({ ok: true, outcome: 'ok' as const, detail: `greeting ${++sent}`, ms: 1 }),
      () => clock.now,
    );
    await prober.check('2001:db8::1');
    clock.now = 850;
    expect(await prober.check('2001:db8::1', Infinity, 0.1)).toMatchObject({ cached: true });
    clock.now = 901;
    expect(await prober.check('2001:db8::1')).toMatchObject({ cached: true }); // an ordinary lookup takes the cached verdict
    expect(await prober.check('2001:db8::1', Infinity, 0.1)).toMatchObject({ cached: false, detail: 'greeting 2' });
    expect(sent).toBe(2);
  });

  test('outcomes are counted under their closed set of labels, whatever the socket reported', async () => {
    const results = [
      ['ok', 'greeting'],
      ['refused', 'refused'],
      ['bad-greeting', 'bad-greeting 421'],
      ['other', 'eproto'],
      ['other', 'econnaborted'],
    ] as const;
    let i = 0;
    const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 1000, failTtlMs: 1000, concurrency: 1, cacheSize: 10 }, async () => {
      const [outcome, detail] = results[i++];
      return { ok: outcome === 'ok', outcome, detail, ms: 1 };
    });
    for (let n = 1; n <= results.length; n++) await prober.check(`2001:db8::${n}`);
    expect(prober.outcomes).toEqual({ ok: 1, refused: 1, unreachable: 0, timeout: 0, reset: 0, 'bad-greeting': 1, garbage: 0, closed: 0, other: 2 });
  });
});
