/**
 * How long the submitter's event reader may gather events after a reply (event-reader.ts): the
 * longer, the fewer wake-ups per mini-batch, but never so long that a worker runs out of work.
 *
 * The engine keeps one attempt waiting behind each running one, so when a worker finishes, its
 * next mini-batch is already there, and the submitter has until that one ends to enqueue the one
 * after: about one mini-batch's duration. Half the shortest of the recent mini-batches leaves the
 * other half for the submitter's own work and the round trips, and 50 ms caps what a status or a
 * log line waits.
 */
const recentCount = 16;
const floorMs = 1;
const ceilingMs = 50;
/** Before any mini-batch has finished. */
const initialMs = 5;

export class GatherDelay {
  readonly #recent: number[] = [];

  /** A mini-batch ran for `durationMs` on its worker. */
  record(durationMs: number): void {
    this.#recent.push(durationMs);
    if (this.#recent.length > recentCount) this.#recent.shift();
  }

  get ms(): number {
    if (this.#recent.length === 0) return initialMs;
    return Math.min(ceilingMs, Math.max(floorMs, Math.min(...this.#recent) / 2));
  }
}
