/**
 * A bound on log lines that clients cause. Every request for an unknown map or without "<map> <key>" is
 * worth a warning, but a client can send thousands a second, and unbounded log volume fills disks and
 * drowns the lines that matter. Per event: at most `perWindow` lines a window; the first line of a later
 * window says how many were left out. Pure apart from the injected clock.
 */
export class LogBudget {
  private readonly events = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Undefined: leave this line out. Otherwise log it, with `suppressed` lines left out before it. */
  take(evt: string): { suppressed: number } | undefined {
    const now = this.now();
    let e = this.events.get(evt);
    if (!e || now - e.start >= this.windowMs) {
      const suppressed = e?.suppressed ?? 0;
      e = { start: now, count: 0, suppressed: 0 };
      this.events.set(evt, e);
      e.count++;
      return { suppressed };
    }
    if (e.count >= this.perWindow) {
      e.suppressed++;
      return undefined;
    }
    e.count++;
    return { suppressed: 0 };
  }
}
