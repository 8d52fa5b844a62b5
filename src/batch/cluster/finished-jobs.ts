/**
 * Removes the BullMQ jobs whose outcome the engine already holds, a batch at a time.
 *
 * A finished job stays in Redis (with its data and return value) until its submitter has read the
 * outcome: when the `completed` event was missed, the outcome poll reads it from the job. Once the
 * outcome is in hand the job is only weight, so it is removed; an expiry (`removeOnComplete.age`)
 * catches what a removal misses (a submitter that died, a dropped connection).
 *
 * Removing each job the moment its outcome arrived cost the submitter an awaited Redis round trip
 * per mini-batch, and a `removed` event that woke its event reader once more: about a fifth of the
 * submitter's CPU. Gathered here, the removals go out together (one command each, in one tick), so
 * their replies and their `removed` events wake the submitter together instead of once per job.
 */
import type { Queue } from 'bullmq';

/** Jobs gathered before they are removed without waiting for the timer. */
const batchSize = 32;

export class FinishedJobs {
  #pending: string[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly queue: Queue,
    intervalMs: number,
  ) {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** The outcome of `id` is in hand: remove the job soon. */
  done(id: string): void {
    this.#pending.push(id);
    if (this.#pending.length >= batchSize) void this.flush();
  }

  /** Removes the jobs gathered so far. Never rejects: best effort, the expiry catches the rest. */
  async flush(): Promise<void> {
    const ids = this.#pending;
    if (ids.length === 0) return;
    this.#pending = [];
    await Promise.all(ids.map((id) => this.queue.remove(id).catch(() => undefined)));
  }

  /** Stops the timer and removes what is left; the queue is closed after this. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
