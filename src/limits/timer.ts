/**
 * A one-shot timer as an injectable edge: runs `fn` after `ms` and returns what cancels it. Where time decides
 * behaviour (the answer deadline, the identity re-check), tests pass their own and fire it by hand.
 */
export type After = (ms: number, fn: () => void) => () => void;

/** The real one; unref'd, so a pending timer never keeps a finished process alive. */
export const realTimer: After = (ms, fn) => {
  const timer = setTimeout(fn, ms).unref();
  return () => clearTimeout(timer);
};
