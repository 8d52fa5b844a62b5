/**
 * The worker slots of a batch engine that runs one attempt per worker process at a time (the
 * embedded engine on this machine, the ssh engine on another): an attempt takes a free slot or
 * waits, first come first served, for the next one freed. A waiting attempt whose signal aborts
 * leaves the line with the abort's error and takes no slot. Waiting attempts are unsent and run no
 * timeout, so a slow worker never eats into the time of the attempts queued behind it.
 */
import { attemptAbortError } from './engine.js';

export class SlotPool<Slot> {
  private readonly free: Slot[];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private closed = false;

  constructor(
    slots: readonly Slot[],
    /** Named in the error an attempt gets after close(), e.g. `the embedded engine`. */
    private readonly owner: string,
  ) {
    this.free = [...slots];
  }

  /** A free slot, or the next one to free up; an attempt aborted while it waits gives up its turn. */
  acquire(signal: AbortSignal | undefined): Promise<Slot> {
    if (this.closed) return Promise.reject(new Error(`${this.owner} is closed`));
    if (signal?.aborted) return Promise.reject(attemptAbortError(signal));
    const slot = this.free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(attemptAbortError(signal));
      };
      const take = (freed: Slot): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(freed);
      };
      this.waiting.push(take);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Hands the slot to the attempt waiting longest, or puts it back. */
  release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(slot);
    else this.free.push(slot);
  }

  /** Runs `attempt` on a slot (waiting for one as acquire does) and frees the slot however it ends. */
  async using<T>(signal: AbortSignal | undefined, attempt: (slot: Slot) => Promise<T>): Promise<T> {
    const slot = await this.acquire(signal);
    try {
      return await attempt(slot);
    } finally {
      this.release(slot);
    }
  }

  /** No attempt gets a slot from now on. */
  close(): void {
    this.closed = true;
  }
}
