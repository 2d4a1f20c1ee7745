/**
 * One IPv6 SMTP probe: TCP connect, read a complete `220` greeting within the timeout, send QUIT, close.
 * Refused, unreachable, silence, a reset, garbage and non-220 greetings all count as failure.
 */
import { connect } from 'node:net';

/** What a probe can end in: a closed set, counted by these names in /metrics. */
export const PROBE_OUTCOMES = ['ok', 'refused', 'unreachable', 'timeout', 'reset', 'bad-greeting', 'garbage', 'closed', 'other'] as const;
export type ProbeOutcome = (typeof PROBE_OUTCOMES)[number];

export interface ProbeResult {
  readonly ok: boolean;
  readonly outcome: ProbeOutcome;
  /** The outcome with what a person wants to know besides: `greeting`, `bad-greeting 421`, `econnaborted`. */
  readonly detail: string;
  readonly ms: number;
}

/** Probes one address; injectable so tests can point documentation addresses at fake endpoints. */
export type SmtpProbe = (address: string, port: number, timeoutMs: number) => Promise<ProbeResult>;

/** Most greeting bytes read before giving up on a line (RFC 5321 reply lines are at most 512). */
const MAX_GREETING_BYTES = 4096;

/** Reads a greeting: undefined while incomplete, else the verdict. Multi-line `220-` greetings are allowed. */
export function judgeGreeting(text: string): { outcome: ProbeOutcome; detail: string } | undefined {
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end < 0) return text.length - start > 512 ? { outcome: 'garbage', detail: 'garbage' } : undefined;
    const line = text.slice(start, end).replace(/\r$/, '');
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (!m) return { outcome: 'garbage', detail: 'garbage' };
    if (m[1] !== '220') return { outcome: 'bad-greeting', detail: `bad-greeting ${m[1]}` };
    if (m[2] !== '-') return { outcome: 'ok', detail: 'greeting' };
    start = end + 1;
  }
}

export const probeSmtp: SmtpProbe = (address, port, timeoutMs) =>
  new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: address, port, family: 6 });
    let text = '';
    let settled = false;
    const finish = (outcome: ProbeOutcome, detail: string = outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ok = outcome === 'ok';
      if (ok) {
        // A polite QUIT; whatever the peer does next, the socket is not kept waiting for it.
        socket.end('QUIT\r\n');
        const linger = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => clearTimeout(linger));
      } else socket.destroy();
      resolve({ ok, outcome, detail, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const verdict = judgeGreeting(text);
      if (verdict) finish(verdict.outcome, verdict.detail);
      else if (text.length > MAX_GREETING_BYTES) finish('garbage');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const outcome: ProbeOutcome =
        err.code === 'ECONNREFUSED'
          ? 'refused'
          : err.code === 'ENETUNREACH' || err.code === 'EHOSTUNREACH' || err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT'
            ? 'unreachable'
            : err.code === 'ECONNRESET'
              ? 'reset'
              : 'other';
      finish(outcome, outcome === 'other' ? (err.code ?? 'error').toLowerCase() : outcome);
    });
    socket.on('close', () => finish('closed'));
  });
