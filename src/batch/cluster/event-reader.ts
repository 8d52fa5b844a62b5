/**
 * The submitter's reader of the queue's BullMQ event stream (`<prefix>:batch:events`), which reads
 * in gathered batches instead of one event burst at a time.
 *
 * BullMQ's QueueEvents sends its next blocking XREAD the moment a reply arrives. Every script that
 * touches a job appends to the stream (added and waiting on an enqueue, active when a worker takes
 * it, completed), and those happen at different moments, so the submitter read about three times
 * per mini-batch, each a round trip to the Redis every worker shares. This reader waits `gatherMs`
 * after each reply before it reads again, so one reply carries everything that happened meanwhile.
 * The wait costs nothing in throughput: the engine keeps more attempts enqueued than the workers
 * run, so a worker that finishes takes the next one without the submitter, and the wait stays well
 * within how long that next one runs (gather-delay.ts).
 *
 * A dropped connection loses nothing: the next read starts after the last entry seen, and the stream
 * keeps its entries (about 10,000, BullMQ's trim). What was trimmed meanwhile is found by the
 * engine's poll. Like BullMQ's own reader, a read that outlives its BLOCK by a second is abandoned
 * and the connection reset: ioredis re-sends a blocking command interrupted by a reconnect, and such
 * a read can wait forever.
 */
import type { Redis } from 'ioredis';

/** One stream entry: BullMQ's event name and its fields (jobId, returnvalue, data, prev, …). */
export interface QueueEvent {
  event: string;
  fields: Record<string, string>;
}

export interface EventReaderOptions {
  /** How long the reader waits after a reply before reading again (asked after each reply). */
  gatherMs: () => number;
  /** The XREAD's BLOCK: how long one read waits for the first new entry. */
  blockMs: number;
  /** Pause after a failed read (Redis away) before the next. */
  retryMs: number;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class EventStreamReader {
  #lastId = '0-0';
  #closed = false;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly handle: (events: QueueEvent[]) => void,
    private readonly options: EventReaderOptions,
  ) {}

  /**
   * Notes where the stream ends now and starts reading from there: every event after this call is
   * seen, none from before. Rejects when Redis cannot be reached.
   */
  async start(): Promise<void> {
    const [last] = (await this.client.xrevrange(this.key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    if (last !== undefined) this.#lastId = last[0];
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let reply: StreamReply;
      try {
        reply = await this.#read();
      } catch {
        if (this.#closed) return;
        await sleep(this.options.retryMs);
        continue;
      }
      const entries = reply?.[0]?.[1] ?? [];
      const events: QueueEvent[] = [];
      for (const [id, pairs] of entries) {
        this.#lastId = id;
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < pairs.length; i += 2) fields[pairs[i] ?? ''] = pairs[i + 1] ?? '';
        events.push({ event: fields.event ?? '', fields });
      }
      if (events.length > 0) {
        this.handle(events);
        if (!this.#closed) await sleep(this.options.gatherMs());
      }
    }
  }

  /** One XREAD after the last entry seen, abandoned (and the connection reset) when it hangs. */
  async #read(): Promise<StreamReply> {
    const read = this.client.xread(
      'COUNT',
      1000,
      'BLOCK',
      this.options.blockMs,
      'STREAMS',
      this.key,
      this.#lastId,
    ) as Promise<StreamReply>;
    let watchdog: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      watchdog = setTimeout(() => resolve('hung'), this.options.blockMs + 1000);
    });
    try {
      const result = await Promise.race([read, hung]);
      if (result !== 'hung') return result;
      read.catch(() => undefined);
      // Drops the stuck command; ioredis connects again by itself.
      if (!this.#closed) this.client.disconnect(true);
      return null;
    } finally {
      clearTimeout(watchdog);
    }
  }

  /** Stops reading; a read in flight is cut off by closing the client, which its owner does next. */
  async close(): Promise<void> {
    this.#closed = true;
    this.client.disconnect();
    await this.#loop;
  }
}
