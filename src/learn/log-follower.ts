/**
 * Follows one log file as `tail -F` does, for the delivery-log trigger: from its end at start (history is
 * `learn`'s job), through rename-and-create rotation (the old file is read to its end first) and
 * copytruncate (a file shorter than where we were is read again from its start), a file that does not
 * exist yet (waited for, said once), and partial last lines (kept until their newline).
 *
 * Every `poll()` reads at most `budgetBytes`, in reads of `chunkBytes`, so a burst of megabytes is spread
 * over several polls and never holds the event loop. No line is held whole past `maxLine` bytes: a longer
 * one is skipped and counted as its bytes go by. The caller drives `poll()` (a timer in the daemon; tests
 * call it directly), so nothing here sleeps.
 */
import { type FileHandle, open, stat } from 'node:fs/promises';

export interface FollowerOptions {
  readonly maxLine: number;
  /** Bytes read per read call. */
  readonly chunkBytes?: number;
  /** Most bytes read per poll. */
  readonly budgetBytes?: number;
}

export interface FollowerState {
  readonly path: string;
  /** starting: not polled yet; open: reading; missing: waiting for the file; error: the last poll failed (`problem` says why). */
  readonly status: 'starting' | 'open' | 'missing' | 'error';
  readonly position: number;
  readonly lines: number;
  /** Lines longer than maxLine, not looked at. */
  readonly skipped: number;
  readonly bytes: number;
  readonly rotations: number;
  readonly truncations: number;
  /** performance.now() of the last complete line, or undefined. */
  readonly lastLineAt: number | undefined;
  readonly problem?: string;
}

const LF = 0x0a;

export class LogFollower {
  private handle: FileHandle | undefined;
  private inode = -1;
  private position = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overlong = false;
  /** Polled before: a file that appears from now on is read from its start. */
  private started = false;
  private polling: Promise<void> | undefined;
  private counters = { lines: 0, skipped: 0, bytes: 0, rotations: 0, truncations: 0 };
  private lastLineAt: number | undefined;
  private status: FollowerState['status'] = 'starting';
  private problem: string | undefined;

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void,
    private readonly options: FollowerOptions,
    private readonly onStatus: (state: FollowerState) => void = () => undefined,
  ) {}

  get state(): FollowerState {
    return {
      path: this.path,
      status: this.status,
      position: this.position,
      ...this.counters,
      lastLineAt: this.lastLineAt,
      ...(this.problem ? { problem: this.problem } : {}),
    };
  }

  /** Reads what has arrived since the last poll (within the budget); one poll at a time. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  async close(): Promise<void> {
    await this.polling;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async pollOnce(): Promise<void> {
    try {
      let budget = this.options.budgetBytes ?? 1024 * 1024;
      const current = await stat(this.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (this.handle && (!current || current.ino !== this.inode)) {
        // Renamed away (rotation): what was written to the old file before the rename is read first.
        budget -= await this.readAvailable(budget);
        if (budget <= 0) return;
        await this.handle.close().catch(() => undefined);
        this.handle = undefined;
        this.dropPartial();
        this.counters.rotations++;
      }
      if (!this.handle) {
        const atStart = !this.started;
        this.started = true;
        if (!current) return this.setStatus('missing');
        if (!current.isFile()) throw new Error('not a regular file');
        this.handle = await open(this.path, 'r');
        const opened = await this.handle.stat();
        this.inode = opened.ino;
        // Present when following began: its history is not ours. Created since: every line is new.
        this.position = atStart ? opened.size : 0;
      }
      const size = (await this.handle.stat()).size;
      if (size < this.position) {
        // Truncated in place (copytruncate): the file starts again.
        this.position = 0;
        this.dropPartial();
        this.counters.truncations++;
      }
      this.setStatus('open');
      await this.readAvailable(budget);
    } catch (err) {
      this.problem = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.setStatus('error');
    }
  }

  /** Reads from the position to the end or the budget; returns the bytes read. */
  private async readAvailable(budget: number): Promise<number> {
    const handle = this.handle;
    if (!handle) return 0;
    const chunk = Buffer.allocUnsafe(Math.min(this.options.chunkBytes ?? 64 * 1024, budget));
    let read = 0;
    while (read < budget) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, budget - read), this.position);
      if (bytesRead === 0) break;
      this.position += bytesRead;
      read += bytesRead;
      this.counters.bytes += bytesRead;
      this.split(chunk.subarray(0, bytesRead));
    }
    return read;
  }

  private split(bytes: Buffer): void {
    let start = 0;
    for (let nl = bytes.indexOf(LF, start); nl >= 0; nl = bytes.indexOf(LF, start)) {
      if (this.pendingBytes === 0 && !this.overlong && nl - start <= this.options.maxLine) {
        // The whole line is in this chunk (the usual case): decoded in place, nothing copied.
        this.counters.lines++;
        this.lastLineAt = performance.now();
        if (nl > start) this.onLine(bytes.toString('utf8', start, bytes[nl - 1] === 0x0d ? nl - 1 : nl));
      } else {
        this.append(bytes.subarray(start, nl));
        this.finishLine();
      }
      start = nl + 1;
    }
    this.append(bytes.subarray(start));
  }

  private append(part: Buffer): void {
    if (this.overlong || part.length === 0) return;
    if (this.pendingBytes + part.length > this.options.maxLine) {
      this.overlong = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copied: the read buffer is reused by the next read.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finishLine(): void {
    this.counters.lines++;
    this.lastLineAt = performance.now();
    if (this.overlong) {
      this.counters.skipped++;
    } else if (this.pendingBytes > 0) {
      const text = Buffer.concat(this.pending, this.pendingBytes).toString('utf8').replace(/\r$/, '');
      this.onLine(text);
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.overlong = false;
  }

  /** A partial line of a file we leave (rotated, truncated) is not finished by the next file's bytes. */
  private dropPartial(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.overlong = false;
  }

  private setStatus(status: FollowerState['status']): void {
    if (status !== 'error') this.problem = undefined;
    const changed = status !== this.status;
    this.status = status;
    if (changed) this.onStatus(this.state);
  }
}
