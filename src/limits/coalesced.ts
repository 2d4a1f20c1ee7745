/**
 * Runs a task one at a time; calls that arrive while it runs are folded into one more run after it. For
 * reloads: a burst of SIGHUPs costs at most two reloads, and never two at once.
 */
export function coalesced(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await task();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}
