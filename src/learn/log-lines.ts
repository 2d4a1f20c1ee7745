/**
 * The lines of a log stream, each at most `maxLine` bytes; a longer line is skipped and counted, its bytes
 * dropped as they arrive, so no line, however long (a local user can write gigabytes with logger), is ever
 * held in memory whole. readline would buffer it and fail past V8's string limit.
 */
import type { Readable } from 'node:stream';

export interface LineCounts {
  lines: number;
  /** Lines longer than the limit, not looked at. */
  skipped: number;
}

const LF = 0x0a;

export async function* logLines(input: Readable, maxLine: number, counts: LineCounts): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  const finish = (): string | undefined => {
    counts.lines++;
    const wasOverlong = overlong;
    const text = Buffer.concat(pending, pendingBytes).toString('utf8').replace(/\r$/, '');
    pending = [];
    pendingBytes = 0;
    overlong = false;
    if (wasOverlong) {
      counts.skipped++;
      return undefined;
    }
    return text;
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(LF, start); nl >= 0; nl = chunk.indexOf(LF, start)) {
      append(chunk.subarray(start, nl));
      const line = finish();
      if (line !== undefined) yield line;
      start = nl + 1;
    }
    append(chunk.subarray(start));
  }
  if (pendingBytes > 0 || overlong) {
    const line = finish();
    if (line !== undefined) yield line;
  }

  function append(part: Buffer): void {
    if (overlong || part.length === 0) return;
    if (pendingBytes + part.length > maxLine) {
      overlong = true;
      pending = [];
      pendingBytes = 0;
      return;
    }
    pending.push(part);
    pendingBytes += part.length;
  }
}
