/**
 * One IPv6 SMTP probe: TCP connect, read a complete `220` greeting within the timeout, send QUIT, close.
 * Refused, unreachable, silence, a reset, garbage and non-220 greetings all count as failure.
 */
import { connect } from 'node:net';

export interface ProbeResult {
  readonly ok: boolean;
  /** greeting | refused | unreachable | timeout | reset | bad-greeting NNN | garbage | closed */
  readonly detail: string;
  readonly ms: number;
}

/** Probes one address; injectable so tests can point documentation addresses at fake endpoints. */
export type SmtpProbe = (address: string, port: number, timeoutMs: number) => Promise<ProbeResult>;

/** Most greeting bytes read before giving up on a line (RFC 5321 reply lines are at most 512). */
const MAX_GREETING_BYTES = 4096;

/** Reads a greeting: undefined while incomplete, else the verdict. Multi-line `220-` greetings are allowed. */
export function judgeGreeting(text: string): { ok: boolean; detail: string } | undefined {
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    if (end < 0) return text.length - start > 512 ? { ok: false, detail: 'garbage' } : undefined;
    const line = text.slice(start, end).replace(/\r$/, '');
    const m = /^(\d{3})([ -]|$)/.exec(line);
    if (!m) return { ok: false, detail: 'garbage' };
    if (m[1] !== '220') return { ok: false, detail: `bad-greeting ${m[1]}` };
    if (m[2] !== '-') return { ok: true, detail: 'greeting' };
    start = end + 1;
  }
}

export const probeSmtp: SmtpProbe = (address, port, timeoutMs) =>
  new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host: address, port, family: 6 });
    let text = '';
    let settled = false;
    const finish = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) {
        // A polite QUIT; whatever the peer does next, the socket is not kept waiting for it.
        socket.end('QUIT\r\n');
        const linger = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => clearTimeout(linger));
      } else socket.destroy();
      resolve({ ok, detail, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => finish(false, 'timeout'), timeoutMs);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const verdict = judgeGreeting(text);
      if (verdict) finish(verdict.ok, verdict.detail);
      else if (text.length > MAX_GREETING_BYTES) finish(false, 'garbage');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const detail =
        err.code === 'ECONNREFUSED' ? 'refused'
        : err.code === 'ENETUNREACH' || err.code === 'EHOSTUNREACH' || err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT' ? 'unreachable'
        : err.code === 'ECONNRESET' ? 'reset'
        : (err.code ?? 'error').toLowerCase();
      finish(false, detail);
    });
    socket.on('close', () => finish(false, 'closed'));
  });
