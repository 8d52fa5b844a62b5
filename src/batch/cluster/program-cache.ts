/**
 * The programs a worker has open, one per (job, model sha256, script): opening one (model fetch and
 * verification, session creation, the script's `init`) costs far more than a mini-batch, so it is
 * done once per job and reused. A few are kept; the least recently used is closed beyond that, so a
 * long-lived worker serving many jobs does not accumulate sessions.
 */
import type { MiniBatchTask } from '../engine.js';
import type { BatchProgram } from '../runtime/program.js';

const keep = 4;

export class ProgramCache {
  readonly #open = new Map<string, Promise<BatchProgram>>();

  constructor(private readonly load: (task: MiniBatchTask) => Promise<BatchProgram>) {}

  get(task: MiniBatchTask): Promise<BatchProgram> {
    const key = JSON.stringify([
      task.jobId,
      task.program.model?.sha256 ?? null,
      task.program.scoringScript ?? null,
    ]);
    const existing = this.#open.get(key);
    if (existing !== undefined) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.#open.delete(key);
      this.#open.set(key, existing);
      return existing;
    }
    const loading = this.load(task);
    this.#open.set(key, loading);
    // A failed open is forgotten, so the next attempt (maybe after the cause is fixed) tries again.
    loading.catch(() => {
      if (this.#open.get(key) === loading) this.#open.delete(key);
    });
    return loading.then(async (program) => {
      await this.#evict();
      return program;
    });
  }

  async #evict(): Promise<void> {
    while (this.#open.size > keep) {
      const [oldest] = this.#open.keys();
      if (oldest === undefined) return;
      const program = this.#open.get(oldest);
      this.#open.delete(oldest);
      await program?.then((opened) => opened.close()).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const open = [...this.#open.values()];
    this.#open.clear();
    for (const program of open) await program.then((opened) => opened.close()).catch(() => undefined);
  }
}
