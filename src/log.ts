/**
 * Logging: pino JSON lines on stdout (or stderr for commands whose stdout is their output).
 *
 * The daemon's output never blocks serving. Its lines go to an asynchronous destination (sonic-boom writes
 * from libuv's thread pool) with a bounded buffer: when the reader of stdout stalls (journald under load, a
 * full pipe), lines past the bound are dropped and counted instead of stopping the event loop, and one line
 * reports how many were lost once the writer gets going again. Order is kept: lines leave in the order they
 * were logged, and at exit `close` waits (bounded) for the buffer to drain instead of racing a write still
 * in flight with a synchronous flush.
 *
 * Short-lived commands (lookup, check-config) log synchronously: nothing to serve, and nothing may be lost.
 *
 * `text` turns each line into the form mail.log readers expect (log-text.ts); JSON stays the default.
 */
import pino, { type Logger } from 'pino';
import { isJournalStream, textLine } from './log-text.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'text';

/** Most bytes held for a stalled reader before lines are dropped. */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;

export interface LogHandle {
  readonly log: Logger;
  /** Lines dropped so far because the reader fell behind (always 0 for synchronous logging). */
  dropped(): number;
  /** Starts writing what is gathered now, without waiting (lines someone watches for: `listening`). */
  flush(): void;
  /** Writes out what is buffered, in order; gives up after `ms` if the reader takes nothing. */
  close(ms?: number): Promise<void>;
}

export interface LoggerOptions {
  readonly fd?: number;
  /** false: write synchronously (short-lived commands). */
  readonly async?: boolean;
  readonly bufferBytes?: number;
  readonly format?: LogFormat;
}

export function createLogger(level: LogLevel, options: LoggerOptions = {}): LogHandle {
  const fd = options.fd ?? 1;
  const async = options.async ?? true;
  // Asynchronous lines are gathered into writes of 4 KB (a write per line cost a tenth of a cold decision's
  // CPU), and whatever is gathered goes out within a quarter of a second.
  const destination = pino.destination(
    async ? { dest: fd, sync: false, minLength: 4096, periodicFlush: 250, maxLength: options.bufferBytes ?? LOG_BUFFER_BYTES } : { dest: fd, sync: true },
  );
  let closing: Promise<void> | undefined;
  const log = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    // Lines logged once closing began (a second signal during shutdown, a connection closing late) are
    // dropped: a closed destination throws, and a log line must never take the process down.
    guarded(options.format === 'text' ? textDestination(destination, isJournalStream(fd)) : destination, () => closing !== undefined),
  );
  let dropped = 0;
  let unreported = 0;
  destination.on('drop', (data: string | Buffer) => {
    const lines = countLines(data);
    dropped += lines;
    unreported += lines;
  });
  // A write completed: the reader is taking lines again, so say what it missed.
  destination.on('write', () => {
    if (unreported === 0) return;
    const lines = unreported;
    unreported = 0;
    log.warn({ evt: 'log-dropped', lines, total: dropped }, `${lines} log lines were dropped while the reader of the log fell behind`);
  });
  // Errors on stdout (a closed pipe) must not kill the daemon; what cannot be written is lost.
  destination.on('error', () => undefined);
  return {
    log,
    dropped: () => dropped,
    flush() {
      if (async) destination.flush();
    },
    close(ms = 2000) {
      closing ??= new Promise<void>((resolve) => {
        if (!async) {
          try {
            destination.flushSync();
          } catch {
            // the reader is gone: nothing left to save
          }
          resolve();
          return;
        }
        const timer = setTimeout(resolve, ms);
        timer.unref();
        destination.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        destination.end();
      });
      return closing;
    },
  };
}

function guarded(destination: { write(line: string): boolean }, closed: () => boolean): { write(line: string): boolean } {
  return { write: (line) => (closed() ? true : destination.write(line)) };
}

/** The destination with each JSON line rewritten as text on its way in (the buffer and its drop count hold text). */
function textDestination(destination: { write(line: string): boolean }, journal: boolean): { write(line: string): boolean } {
  return { write: (line) => destination.write(textLine(line, journal)) };
}

function countLines(data: string | Buffer): number {
  let n = 0;
  if (typeof data === 'string') {
    for (let i = data.indexOf('\n'); i >= 0; i = data.indexOf('\n', i + 1)) n++;
  } else {
    for (let i = data.indexOf(0x0a); i >= 0; i = data.indexOf(0x0a, i + 1)) n++;
  }
  return Math.max(n, 1);
}
