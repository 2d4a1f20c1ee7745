/** Probe verdicts read from the fleet's shared cache are believed no longer than our own would be. */
import { fleetOf } from '../../src/shared/fleet-shelves';
import { Prober } from '../../src/probe/prober';
import { type SharedProbe, type SharedTier, emptyCounters } from '../../src/shared/shared-tier';

const TEN_YEARS = 10 * 365 * 24 * 3_600_000;

/** A tier holding one verdict for every address, with the lifetime a planted value would claim. */
function tierWith(verdict: SharedProbe): SharedTier {
  return {
    counters: emptyCounters(),
    up: true,
    readDecision: async () => undefined,
    writeDecision: () => undefined,
    readHost: async () => undefined,
    writeHost: () => undefined,
    readProbe: async () => verdict,
    writeProbe: () => undefined,
    takeProbeLease: async () => true,
    readEvidence: async () => undefined,
    writeEvidence: () => undefined,
    close: async () => undefined,
  };
}

describe('a verdict from the fleet', () => {
  const prober = (tier: SharedTier): Prober => {
    const p = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 10_000, failTtlMs: 5_000, concurrency: 1, cacheSize: 10 }, () =>
      Promise.reject(new Error('no probe here')),
    );
    p.useShared(fleetOf(tier), () => 50);
    return p;
  };

  test('an ok claiming ten years is kept for probe_ok_ttl (a planted value was believed 25 s after deletion)', async () => {
    const verdict = await prober(tierWith({ ok: true, outcome: 'ok', detail: '220', ms: 1, ttlMs: TEN_YEARS })).check('2001:db8::1');
    expect(verdict).toMatchObject({ ok: true, cached: true, ttlMs: 10_000 });
  });

  test('a failure is kept for probe_fail_ttl at most; a shorter life stays as it is', async () => {
    expect(await prober(tierWith({ ok: false, outcome: 'timeout', detail: 'x', ms: 100, ttlMs: TEN_YEARS })).check('2001:db8::2')).toMatchObject({
      ttlMs: 5_000,
    });
    expect(await prober(tierWith({ ok: true, outcome: 'ok', detail: '220', ms: 1, ttlMs: 3_000 })).check('2001:db8::3')).toMatchObject({ ttlMs: 3_000 });
  });
});

describe('the lease: another instance is probing the address', () => {
  test("this one waits (on its injected sleep, never a real timer), takes the holder's verdict when it appears, and probes nothing", async () => {
    let reads = 0;
    const fleet = fleetOf({
      ...tierWith({ ok: true, outcome: 'ok', detail: '220', ms: 3, ttlMs: 60_000 }),
      // Not there at first: the holder is still probing. It appears on the third read.
      readProbe: async () => (++reads >= 3 ? { ok: true, outcome: 'ok' as const, detail: '220', ms: 3, ttlMs: 60_000 } : undefined),
      takeProbeLease: async () => false,
    });
    const slept: number[] = [];
    let probed = 0;
    const prober = new Prober(
      { port: 25, timeoutMs: 10_000, okTtlMs: 10_000, failTtlMs: 5_000, concurrency: 1, cacheSize: 10 },
      async () => {
        probed++;
        return { ok: false, outcome: 'timeout', detail: 'x', ms: 1 };
      },
      Date.now,
      async (ms) => void slept.push(ms),
    );
    const counted: string[] = [];
    prober.useShared({ ...fleet, countLease: (r) => void counted.push(r) }, () => 50);
    expect(await prober.check('2001:db8::9')).toMatchObject({ ok: true, cached: true, ttlMs: 10_000 });
    // The first read (before the lease) and two polls, a sleep before each poll.
    expect({ reads, slept, counted, probed }).toEqual({ reads: 3, slept: [50, 50], counted: ['waited'], probed: 0 });
  });
});
