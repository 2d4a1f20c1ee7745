import { LoopWatch } from '../../src/server/loop-watch';

function watch(): { w: LoopWatch; at: { now: number } } {
  const at = { now: 0 };
  return { w: new LoopWatch(() => at.now, 50, 50), at };
}

describe('LoopWatch: when did bytes read now arrive?', () => {
  test('on a healthy loop, bytes arrived when they are read', () => {
    const { w, at } = watch();
    for (let t = 50; t <= 500; t += 50) {
      at.now = t;
      w.tick();
    }
    expect(w.arrival(520)).toBe(520);
    expect(w.stalls).toBe(0);
  });

  test('after a stall (the tick comes late), reads are dated back to the last on-time tick, until the next on-time tick', () => {
    const { w, at } = watch();
    at.now = 50;
    w.tick();
    at.now = 6050; // stopped for six seconds
    w.tick();
    expect(w.arrival(6051)).toBe(50);
    expect(w.stalls).toBe(1);
    expect(w.stalledMs).toBe(5950);
    at.now = 6100;
    w.tick();
    expect(w.arrival(6101)).toBe(6101);
  });

  test('a tick overdue at read time means a stall is happening now: reads are dated back to the last tick', () => {
    const { w, at } = watch();
    at.now = 50;
    w.tick();
    expect(w.arrival(1050)).toBe(50); // a long task earlier in this turn has held the loop for a second
    expect(w.arrival(140)).toBe(140); // within period + slack: no stall
  });

  test('small lateness (under the slack) is not a stall', () => {
    const { w, at } = watch();
    at.now = 50;
    w.tick();
    at.now = 140; // 40 ms late
    w.tick();
    expect(w.stalls).toBe(0);
    expect(w.arrival(141)).toBe(141);
  });
});
