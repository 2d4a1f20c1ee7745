/**
 * What `decide` would answer for a domain, beside a fresh evaluation of it (`mx4map lookup`): the same
 * choice between a fresh cached decision, a stale one and the evaluation.
 */
import type { CacheEntry } from '../cache/ttl-cache.js';
import type { Decision } from './decision.js';
import type { Evaluation } from './pipeline.js';

export type Explanation = Evaluation & {
  /** The decision answered: the cached one while it is fresh, a stale one when the evaluation failed. */
  readonly answered: Decision;
  /** evaluated: the evaluation is answered (and cached); cached: a fresh cached decision is; stale: an expired one is. */
  readonly answeredFrom: 'evaluated' | 'cached' | 'stale';
  /** For cached and stale answers: ms until expiry (negative: since), and ms it is kept stale for yet. */
  readonly cached?: { readonly expiresInMs: number; readonly keptForMs: number };
};

export function explain(entry: CacheEntry<Decision> | undefined, evaluation: Evaluation, now: number, deadlineMs: number): Explanation {
  if (!entry || evaluation.override === 'never' || (evaluation.decision.action === 'leave' && evaluation.decision.reason === 'local')) {
    return { ...evaluation, answered: evaluation.decision, answeredFrom: 'evaluated' };
  }
  const cached = { expiresInMs: Math.round(entry.expires - now), keptForMs: Math.round(Math.max(0, entry.keepUntil - now)) };
  if (entry.expires > now) return { ...evaluation, answered: entry.value, answeredFrom: 'cached', cached };
  const failed = evaluation.decision.action === 'dns-failure' || evaluation.durationMs > deadlineMs;
  return failed
    ? { ...evaluation, answered: entry.value, answeredFrom: 'stale', cached }
    : { ...evaluation, answered: evaluation.decision, answeredFrom: 'evaluated', cached };
}
