import { coalesced } from '../../src/limits/coalesced';

test('calls during a run fold into one more run after it; never two at once', async () => {
  let running = 0;
  let most = 0;
  let runs = 0;
  const release: Array<() => void> = [];
  const run = coalesced(async () => {
    running++;
    most = Math.max(most, running);
    runs++;
    await new Promise<void>((r) => release.push(r));
    running--;
  });
  const first = run();
  for (let i = 0; i < 100; i++) void run();
  expect(runs).toBe(1);
  release.shift()?.();
  await new Promise((r) => setImmediate(r));
  expect(runs).toBe(2); // the hundred calls became one more run
  release.shift()?.();
  await first;
  expect(runs).toBe(2);
  expect(most).toBe(1);
  void run();
  expect(runs).toBe(3); // idle again: the next call runs at once
  release.shift()?.();
});
