/**
 * SenderIdentity: checks the configured sources (or the discovered one), hands each state to the engine,
 * logs a verdict once when it changes, checks again on its schedule, and stops when told. Jest's fake
 * timers stand in for the clock; DNS is in memory.
 */
import { SenderIdentity, type IdentityState } from '../../src/identity/sender-identity';
import { reverseName } from '../../src/identity/identity-check';
import { logSink } from '../support/log-sink';
import { stubDns } from '../support/stub-dns';

const SOURCE = '2001:db8::26';

function rig(configured: string[], discovered?: string) {
  const dns = stubDns({});
  const states: IdentityState[] = [];
  const sink = logSink('info');
  const identity = new SenderIdentity({ configured: () => configured, discover: async () => discovered, dns, onChange: (s) => states.push(s) }, sink.log);
  const ptrQueries = (): number => dns.asked.filter((q) => q === `${reverseName(SOURCE)} PTR`).length;
  return { dns, states, sink, identity, ptrQueries };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a failing source: the engine is told, one warning; the same verdict again logs nothing', async () => {
  const r = rig([SOURCE]);
  await r.identity.check();
  await r.identity.check();
  expect(r.states.map((s) => s.unready)).toEqual([true, true]);
  expect(r.sink.events('sender-identity')).toHaveLength(1);
  r.identity.stop();
});

test('checked again on its schedule (a no-ptr verdict resting on a 60 s negative TTL: after 5 min), until stopped', async () => {
  const r = rig([SOURCE]);
  await r.identity.check();
  expect(r.ptrQueries()).toBe(1);
  await jest.advanceTimersByTimeAsync(299_000);
  expect(r.ptrQueries()).toBe(1);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(r.ptrQueries()).toBe(2);
  r.identity.stop();
  await jest.advanceTimersByTimeAsync(3_600_000);
  expect(r.ptrQueries()).toBe(2);
  // Switched on again (a reload): checked at once, and on schedule after that.
  await r.identity.check();
  await jest.advanceTimersByTimeAsync(300_000);
  expect(r.ptrQueries()).toBe(4);
  r.identity.stop();
});

test('nothing configured: the discovered source is checked; none discovered: no DNS at all, nothing forced', async () => {
  const found = rig([], SOURCE);
  expect(await found.identity.check()).toMatchObject({ sources: [SOURCE], discovered: true, unready: true });
  found.identity.stop();
  const none = rig([]);
  expect(await none.identity.check()).toMatchObject({ sources: [], unready: false });
  expect(none.dns.asked).toEqual([]);
  none.identity.stop();
});

test('a check asked for while one runs is run again after it, with the configuration as it is then', async () => {
  const configured = ['2001:db8::30'];
  const dns = stubDns({});
  const identity = new SenderIdentity({ configured: () => configured, discover: async () => undefined, dns, onChange: () => undefined }, logSink('silent').log);
  dns.hold(reverseName('2001:db8::30'));
  const first = identity.check();
  configured.splice(0, 1, SOURCE); // a reload changes ipv6_source while the first check waits on DNS
  const second = identity.check();
  dns.release(reverseName('2001:db8::30'));
  await Promise.all([first, second]);
  expect(identity.current.sources).toEqual([SOURCE]);
  identity.stop();
});
