/**
 * This host's IPv6 sending identity, kept current: which source addresses mail leaves from (configured, or
 * the kernel's choice), and whether each passes the reverse-DNS check. Checked at start, on reload and
 * on a timer; every change of verdict is logged once and handed to the engine, which forces strict
 * receivers' domains onto IPv4 while any source fails (sender-ipv6-unready).
 */
import { type After, realTimer } from '../limits/timer.js';
import type { Logger } from 'pino';
import type { DnsClient } from '../dns/client.js';
import { type IdentityCheck, type IdentityVerdict, checkIdentity, failsIdentity } from './identity-check.js';
import { coalesced } from '../limits/coalesced.js';

export interface IdentityState {
  /** The source addresses checked; empty when none is configured and none was found. */
  readonly sources: readonly string[];
  /** Whether the sources were found (the kernel's choice) rather than configured. */
  readonly discovered: boolean;
  readonly checks: readonly IdentityCheck[];
  /** Some source fails: mail from it would be rejected by strict receivers over IPv6. */
  readonly unready: boolean;
}

export const NO_IDENTITY: IdentityState = { sources: [], discovered: false, checks: [], unready: false };

/** Decides the state from the checks: unready when any source fails; unknown verdicts decide nothing. */
export function identityState(sources: readonly string[], discovered: boolean, checks: readonly IdentityCheck[]): IdentityState {
  return { sources, discovered, checks, unready: checks.some((c) => failsIdentity(c.verdict)) };
}

/** The state in lines, for /healthz and `lookup`: one per source, or why there is none. */
export function describeIdentity(state: IdentityState): string[] {
  if (state.sources.length === 0) return ['sender-ipv6: no IPv6 source address (none configured, no global one found): sender-ipv6-unready inert'];
  const how = state.discovered ? 'found' : 'configured';
  return state.checks.map(
    (c) => `sender-ipv6 ${c.address} (${how}): ${c.verdict}${failsIdentity(c.verdict) ? ', sender-ipv6-unready active' : ''} — ${c.detail}`,
  );
}

/** How long until the next check: the verdict's own TTL, within bounds; soon after a DNS failure. */
export function nextCheckMs(state: IdentityState): number {
  if (state.checks.some((c) => c.verdict === 'unknown')) return RETRY_MS;
  const ttls = state.checks.map((c) => c.ttl * 1000);
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, ...(ttls.length ? [Math.min(...ttls)] : [MAX_INTERVAL_MS])));
}

const RETRY_MS = 60_000;
const MIN_INTERVAL_MS = 5 * 60_000;
const MAX_INTERVAL_MS = 60 * 60_000;

export interface SenderIdentityOptions {
  /** ipv6_source as configured now (read at each check, so a reload applies). */
  readonly configured: () => readonly string[];
  /** Finds the kernel's IPv6 source when none is configured (source-address.ts). */
  readonly discover: () => Promise<string | undefined>;
  readonly dns: DnsClient;
  /** Called with every new state (the engine takes `unready`). */
  readonly onChange: (state: IdentityState) => void;
  /** The re-check timer (default: a real, unref'd one). */
  readonly after?: After;
}

export class SenderIdentity {
  private state: IdentityState = NO_IDENTITY;
  private cancelTimer: () => void = () => undefined;
  private stopped = false;

  constructor(
    private readonly options: SenderIdentityOptions,
    private readonly log: Logger,
  ) {}

  get current(): IdentityState {
    return this.state;
  }

  /**
   * Checks now and schedules the next check; undoes stop(). A call while a check runs is folded into one
   * more check after it (a reload may have changed ipv6_source meanwhile).
   */
  async check(): Promise<IdentityState> {
    this.stopped = false;
    await this.checkOnce();
    return this.state;
  }

  private readonly checkOnce = coalesced(async () => {
    await this.run();
  });

  private async run(): Promise<void> {
    const configured = this.options.configured();
    const found = configured.length > 0 ? undefined : await this.options.discover();
    const sources = configured.length > 0 ? [...configured] : found ? [found] : [];
    const checks = await Promise.all(sources.map((address) => checkIdentity(this.options.dns, address)));
    const next = identityState(sources, configured.length === 0, checks);
    const before = this.state;
    this.state = next;
    this.report(before, next);
    this.options.onChange(next);
    this.schedule();
  }

  private schedule(): void {
    this.cancelTimer();
    if (this.stopped) return;
    this.cancelTimer = (this.options.after ?? realTimer)(nextCheckMs(this.state), () => void this.check());
  }

  /** One line per source whose verdict changed. */
  private report(before: IdentityState, next: IdentityState): void {
    const was = new Map<string, IdentityVerdict>(before.checks.map((c) => [c.address, c.verdict]));
    if (next.sources.length === 0 && before.sources.length > 0)
      this.log.info({ evt: 'sender-identity', sources: [] }, 'no global IPv6 source address: sender-ipv6-unready stays inert');
    for (const c of next.checks) {
      if (was.get(c.address) === c.verdict) continue;
      const fields = { evt: 'sender-identity', address: c.address, verdict: c.verdict, detail: c.detail };
      if (failsIdentity(c.verdict))
        this.log.warn(
          fields,
          `IPv6 source ${c.address} fails the reverse-DNS check (${c.detail}): domains whose MX hosts are strict receivers are forced onto IPv4 (sender-ipv6-unready) until it passes`,
        );
      else if (c.verdict === 'pass') this.log.info(fields, `IPv6 source ${c.address} passes the reverse-DNS check (${c.detail})`);
      else this.log.warn(fields, `IPv6 source ${c.address} could not be checked (${c.detail}): nothing forced for it; checked again in a minute`);
    }
  }

  /** No more checks until check() is called again (the trigger switched off, or shutting down). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }
}
