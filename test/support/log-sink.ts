/** A pino logger that records JSON lines as objects, so tests assert on structured log events. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export interface LogSink {
  readonly log: Logger;
  readonly lines: Array<Record<string, unknown>>;
  events(evt: string): Array<Record<string, unknown>>;
}

export function logSink(level: pino.LevelWithSilent = 'debug'): LogSink {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level }, stream);
  return { log, lines, events: (evt) => lines.filter((l) => l.evt === evt) };
}
