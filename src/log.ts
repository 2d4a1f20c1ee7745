/**
 * Logging: pino JSON lines on stdout. The destination is asynchronous (a slow log reader must not stall
 * lookups), so it is flushed synchronously at exit: pino's async default otherwise loses buffered lines on
 * SIGTERM.
 */
import pino, { Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LogHandle {
  readonly log: Logger;
  /** Writes out everything buffered; safe to call at exit and more than once. */
  flush(): void;
}

export function createLogger(level: LogLevel, fd = 1): LogHandle {
  const destination = pino.destination({ dest: fd, sync: false, minLength: 0 });
  const log = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    log,
    flush() {
      try {
        destination.flushSync();
      } catch {
        // stdout already gone (closed pipe): nothing left to save
      }
    },
  };
}
