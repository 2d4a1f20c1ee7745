import { type PacerClock, pacer } from '../../src/replay/pacer';

/** A clock that moves only when a request sleeps: the sleeps add up to the schedule. */
function steppedClock(): PacerClock & { slept: number[] } {
  let now = 1000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

test('20 starts at 100 per second span 190 ms: the first at once, then one every 10 ms', async () => {
  const clock = steppedClock();
  const pace = pacer(100, clock);
  for (let i = 0; i < 20; i++) await pace();
  expect(clock.slept).toHaveLength(19);
  expect(clock.slept.every((ms) => Math.abs(ms - 10) < 1e-9)).toBe(true);
  expect(clock.now() - 1000).toBeCloseTo(190, 6);
});

test('starts asked for at once (several connections) are spread out, not bunched', async () => {
  const clock = steppedClock();
  const pace = pacer(50, clock);
  // Four connections ask together: each is given the next free slot.
  const waits: number[] = [];
  const realSleep = clock.sleep;
  clock.sleep = (ms) => (waits.push(ms), Promise.resolve());
  await Promise.all([pace(), pace(), pace(), pace()]);
  clock.sleep = realSleep;
  expect(waits).toEqual([20, 40, 60]);
});

test('rate 0 is unpaced: nothing ever sleeps', async () => {
  const clock = steppedClock();
  const pace = pacer(0, clock);
  for (let i = 0; i < 100; i++) await pace();
  expect(clock.slept).toEqual([]);
});
