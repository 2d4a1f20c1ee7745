import { MapRegistry } from '../../src/maps/registry';
import { DEFAULT_POLICY } from '../../src/maps/format';
import { defaults } from '../../src/config/options';
import type { Decision } from '../../src/engine/decision';
import { logSink } from '../support/log-sink';
import { recordingTally } from '../support/tally';

const payload = (request: string): Buffer => Buffer.from(request);

describe('MapRegistry', () => {
  const decision: Decision = Object.freeze({ action: 'force-ipv4', triggers: ['cname-mx'], routes: [['192.0.2.1', '192.0.2.2']] }) as Decision;
  const registry = new MapRegistry(defaults().maps, { decide: () => decision }, DEFAULT_POLICY, logSink().log);

  test('Postfix: a cached decision is answered in turns of its orders, each a buffer encoded once', () => {
    const replies = Array.from({ length: 4 }, () => registry.answer(payload('transport user@spread.example')) as Buffer);
    expect(replies.map((b) => b.toString())).toEqual([
      '32:OK smtp:[192.0.2.1], [192.0.2.2],',
      '32:OK smtp:[192.0.2.2], [192.0.2.1],',
      '32:OK smtp:[192.0.2.1], [192.0.2.2],',
      '32:OK smtp:[192.0.2.2], [192.0.2.1],',
    ]);
    expect(replies[2]).toBe(replies[0]); // the same buffer: a hit allocates nothing
  });

  test('sendmail: one answer, always the same buffer', () => {
    const a = registry.answer(payload('mailertable spread.example'));
    const b = registry.answer(payload('mailertable spread.example'));
    expect(b).toBe(a);
    expect((a as Buffer).toString()).toBe('32:OK esmtp:[192.0.2.1],[192.0.2.2],');
  });
});

test('answer times reach the observer: 0 for a decision at hand, the wait for one that is not', async () => {
  const decision: Decision = Object.freeze({ action: 'leave', triggers: [], routes: [] }) as unknown as Decision;
  let now = 1000;
  const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
  const seen: [string, string, number][] = [];
  let pending: ((d: Decision) => void) | undefined;
  const decide = (domain: string): Decision | Promise<Decision> =>
    domain === 'slow.example' ? new Promise<Decision>((resolve) => (pending = resolve)) : decision;
  const registry = new MapRegistry(
    defaults().maps,
    { decide },
    DEFAULT_POLICY,
    logSink().log,
    recordingTally((map, answer, _reason, ms) => seen.push([map, answer, ms])),
  );
  try {
    registry.answer(payload('mailertable fast.example'));
    const waited = registry.answer(payload('mailertable slow.example'));
    now += 1234;
    pending?.(decision);
    await waited;
    expect(seen).toEqual([
      ['mailertable', 'NOTFOUND', 0],
      ['mailertable', 'NOTFOUND', 1234],
    ]);
  } finally {
    clock.mockRestore();
  }
});
