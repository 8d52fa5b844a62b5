/**
 * How many items the built-in ONNX scoring hands the model per run, chosen on the machine itself.
 *
 * A run on a few items keeps the model's working set in cache; a larger one pays less per item
 * for warming the cache again after the item files were read. Which side wins depends on the CPU:
 * PP-OCR's classifier on one Xeon core scores ~1,100 images/s at 4 per run and ~720 at 32, while
 * on a 2-core AMD EPYC VM (512 KiB L2, 32 MiB L3) 16 per run costs ~7% less CPU per image than 4.
 * So the first mini-batches try each candidate in turn, timing the model's runs per item, and the
 * fastest is kept from then on. The model's run holds the worker's thread, so its time is its own
 * even when a worker runs several mini-batches at once; taking turns spreads other load on the
 * machine over every candidate alike.
 *
 * The choice is remembered for the life of the process, by model file and item size: a cluster
 * worker serves job after job, and a later job of the same model starts with the size already
 * chosen instead of spending its first mini-batches on the slower candidates again.
 */

/** Input bytes per run the candidates hold: from a slice that stays in L2 to one that fits L3. */
const candidateBytes = [512 * 1024, 1024 * 1024, 2 * 1024 * 1024];
/** Mini-batches each candidate runs before the choice: 8 x 32 images of PP-OCR is ~0.4 s each. */
const triesPerCandidate = 8;

/** Sizes chosen in this process, by `<model file>|<item bytes>`. */
const chosenBefore = new Map<string, number>();

export class SliceSize {
  readonly #candidates: number[];
  readonly #seconds: number[];
  readonly #items: number[];
  #turn = 0;
  #chosen: number | undefined;
  readonly #memoryKey: string | undefined;

  /**
   * `fixed`: a size the user set (BERTH_ORT_BATCH_SIZE), used as it is. `modelKey`: what identifies
   * the model (its file), so the choice made for it is kept for the next program of this process.
   */
  constructor(itemBytes: number, fixed: number | undefined, modelKey?: string) {
    const counts = candidateBytes.map((bytes) => Math.max(1, Math.floor(bytes / itemBytes)));
    this.#candidates = [...new Set(counts)];
    this.#seconds = this.#candidates.map(() => 0);
    this.#items = this.#candidates.map(() => 0);
    this.#memoryKey = fixed === undefined && modelKey !== undefined ? `${modelKey}|${itemBytes}` : undefined;
    const before = this.#memoryKey === undefined ? undefined : chosenBefore.get(this.#memoryKey);
    this.#chosen = fixed ?? before ?? (this.#candidates.length === 1 ? this.#candidates[0] : undefined);
  }

  /** The slice size for the next mini-batch. */
  next(): number {
    if (this.#chosen !== undefined) return this.#chosen;
    const size = this.#candidates[this.#turn % this.#candidates.length] ?? 1;
    this.#turn += 1;
    return size;
  }

  /** The model ran `items` items in `seconds` with slices of `size`. */
  record(size: number, items: number, seconds: number): void {
    if (this.#chosen !== undefined || items === 0) return;
    const at = this.#candidates.indexOf(size);
    if (at < 0) return;
    this.#seconds[at] = (this.#seconds[at] ?? 0) + seconds;
    this.#items[at] = (this.#items[at] ?? 0) + items;
    if (this.#turn < this.#candidates.length * triesPerCandidate) return;
    const perItem = this.#candidates.map((_, i) => {
      const items = this.#items[i] ?? 0;
      return items > 0 ? (this.#seconds[i] ?? 0) / items : Infinity;
    });
    const best = perItem.indexOf(Math.min(...perItem));
    this.#chosen = this.#candidates[best];
    if (this.#memoryKey !== undefined && this.#chosen !== undefined)
      chosenBefore.set(this.#memoryKey, this.#chosen);
  }

  /** The size kept, once chosen (for logs and tests). */
  get chosen(): number | undefined {
    return this.#chosen;
  }
}
