/** The server-wide budget for DNS queries and probes, on jest's fake timers: waiting is bounded by each entrant's deadline. */
import { Gate } from '../../src/limits/gate';

beforeEach(() => jest.useFakeTimers());
afterEach(() => {
  expect(jest.getTimerCount()).toBe(0); // no waiter's timer outlives the test
  jest.useRealTimers();
});

const now = (): number => Date.now();

test('up to the limit enter at once; the next waits, and enters when one leaves', async () => {
  const gate = new Gate(2, now);
  expect(await gate.enter()).toBe(true);
  expect(await gate.enter()).toBe(true);
  let third: boolean | undefined;
  void gate.enter(now() + 1000).then((v) => (third = v));
  await Promise.resolve();
  expect({ third, inUse: gate.inUse }).toEqual({ third: undefined, inUse: 2 });
  gate.leave();
  await Promise.resolve();
  expect({ third, inUse: gate.inUse }).toEqual({ third: true, inUse: 2 });
  gate.leave();
  gate.leave();
  expect(gate.inUse).toBe(0);
});

test('a waiter whose deadline passes first is refused, counted, and takes no place', async () => {
  const gate = new Gate(1, now);
  await gate.enter();
  const late = gate.enter(now() + 100);
  jest.advanceTimersByTime(99);
  await Promise.resolve();
  expect(gate.refused).toBe(0);
  jest.advanceTimersByTime(1);
  expect(await late).toBe(false);
  expect(gate.refused).toBe(1);
  gate.leave();
  expect(gate.inUse).toBe(0); // the refused waiter was not admitted on leave
});

test('a deadline already past is refused at once, without a timer', async () => {
  const gate = new Gate(1, now);
  await gate.enter();
  expect(await gate.enter(now() - 1)).toBe(false);
  expect(gate.refused).toBe(1);
  gate.leave();
});

test('waiters enter in arrival order; a newcomer never jumps the queue while others wait', async () => {
  const gate = new Gate(1, now);
  await gate.enter();
  const order: string[] = [];
  void gate.enter(now() + 1000).then(() => order.push('first'));
  void gate.enter(now() + 1000).then(() => order.push('second'));
  gate.leave(); // admits "first"
  await Promise.resolve();
  // A slot is not free for a newcomer while "second" waits, even if it arrives now.
  void gate.enter(now() + 1000).then(() => order.push('newcomer'));
  gate.leave(); // admits "second"
  await Promise.resolve();
  gate.leave(); // admits the newcomer
  await Promise.resolve();
  expect(order).toEqual(['first', 'second', 'newcomer']);
  gate.leave();
});

test('run() leaves the gate when its task throws, and gives undefined when it could not start', async () => {
  const gate = new Gate(1, now);
  await expect(gate.run(Infinity, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(gate.inUse).toBe(0);
  await gate.enter();
  const refused = gate.run(now() + 10, async () => 'ran');
  jest.advanceTimersByTime(10);
  expect(await refused).toBeUndefined();
  gate.leave();
});
