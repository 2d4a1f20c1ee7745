/**
 * What the running server holds for one domain, without deciding anything: the cached decision (fresh, or
 * expired and kept for serve-stale), its remaining lifetimes, whether a lookup of it is in flight, the
 * delivery-log evidence kept for it, and whether an override or this host's own domains decide it first.
 * The ops listener's per-domain view (`mx4map lookup --server`) shows it.
 */
import type { CacheEntry } from '../cache/ttl-cache.js';
import type { Decision } from './decision.js';
import type { Evidence } from './evidence.js';
import type { OverrideMatch } from './overrides.js';

export interface HeldDomain {
  readonly domain: string;
  /** fresh: answered as is; stale: expired, answered only when its refresh fails or misses the deadline; none. */
  readonly state: 'fresh' | 'stale' | 'none';
  readonly decision?: Decision;
  /** ms until the decision expires (negative: since it expired). */
  readonly expiresInMs?: number;
  /** ms it is still kept stale for. */
  readonly keptForMs?: number;
  /** After a failed refresh: ms before another is tried (the stale decision is answered meanwhile). */
  readonly retryInMs?: number;
  /** A lookup of the domain is running now (its answer will replace what is held). */
  readonly inFlight: boolean;
  /** Delivery-log evidence kept for the domain itself, with ms left (evidence for its MX hosts is per host). */
  readonly evidence?: { readonly evidence: Evidence; readonly remainingMs: number };
  /** What decides the domain before any cached decision: an override, or being one of this host's domains. */
  readonly override?: OverrideMatch;
  readonly local: boolean;
}

export function heldDomain(
  domain: string,
  entry: CacheEntry<Decision> | undefined,
  now: number,
  more: Pick<HeldDomain, 'inFlight' | 'evidence' | 'override' | 'local'>,
): HeldDomain {
  if (!entry) return { domain, state: 'none', ...more };
  return {
    domain,
    state: entry.expires > now ? 'fresh' : 'stale',
    decision: entry.value,
    expiresInMs: Math.round(entry.expires - now),
    keptForMs: Math.round(Math.max(0, entry.keepUntil - now)),
    ...(entry.retryAt !== undefined && entry.retryAt > now ? { retryInMs: Math.round(entry.retryAt - now) } : {}),
    ...more,
  };
}
