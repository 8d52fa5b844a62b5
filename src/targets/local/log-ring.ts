/**
 * A deployment's output: the last N lines of every replica in memory (for `logs()`), every line
 * appended to one file under the target's logs folder, and live followers for `logs({follow})`.
 * States: open → closed; close() ends the followers and flushes the file.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { LogLine } from '../target.js';

type Listener = (line: LogLine | undefined) => void;

export class LogRing {
  private readonly lines: (LogLine | undefined)[];
  private next = 0;
  private count = 0;
  private readonly listeners = new Set<Listener>();
  private readonly file: WriteStream;
  private closed = false;

  constructor(
    private readonly capacity: number,
    readonly filePath: string,
  ) {
    this.lines = new Array<LogLine | undefined>(capacity);
    mkdirSync(dirname(filePath), { recursive: true });
    this.file = createWriteStream(filePath, { flags: 'a' });
    // A full disk must not take the deployment down: the in-memory ring still works.
    this.file.on('error', () => undefined);
  }

  push(line: LogLine): void {
    if (this.closed) return;
    this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    this.file.write(`${line.time} ${line.replica} ${line.stream} ${line.text}\n`);
    for (const listener of this.listeners) listener(line);
  }

  /** The last `n` lines, oldest first. */
  tail(n: number): LogLine[] {
    const take = Math.max(0, Math.min(n, this.count));
    const out: LogLine[] = [];
    for (let i = take; i > 0; i--) {
      const line = this.lines[(this.next - i + this.capacity) % this.capacity];
      if (line !== undefined) out.push(line);
    }
    return out;
  }

  /** The last `lines` lines, then (when following) every new one until the signal or close(). */
  async *read(lines: number, follow: boolean, signal: AbortSignal | undefined): AsyncGenerator<LogLine> {
    const pending: LogLine[] = [];
    let wake: (() => void) | undefined;
    let ended = !follow || this.closed;
    const listener: Listener = (line) => {
      if (line === undefined) ended = true;
      else pending.push(line);
      wake?.();
    };
    const onAbort = (): void => listener(undefined);
    if (follow) {
      this.listeners.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted === true) ended = true;
    }
    try {
      yield* this.tail(lines);
      while (!ended || pending.length > 0) {
        const line = pending.shift();
        if (line !== undefined) {
          yield line;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const listener of this.listeners) listener(undefined);
    return new Promise((resolve) => this.file.end(resolve));
  }
}
