/**
 * The engine's view of which model versions exist and which one a request gets. A version being
 * loaded is listed but not served; a request without a version gets the newest ready one.
 */
import { BerthError } from '../../core/errors.js';
import { hasDynamicBatchDimension } from '../../core/tensor.js';
import type { ModelSignature } from '../../core/tensor.js';
import type { ModelToServe } from '../engine.js';
import type { LoadReport } from './messages.js';
import { modelKey, newest } from './versions.js';

export interface ModelEntry {
  model: ModelToServe;
  version: string;
  loadSequence: number;
  state: 'loading' | 'ready';
  /** The registry's signature, else the one the worker read from the ONNX session. */
  signature: ModelSignature | null;
  batchable: boolean;
  /** Tensor inference runs on the main thread (see placement.ts). */
  inline: boolean;
}

export class ModelTable {
  private readonly entries = new Map<string, ModelEntry>();
  private loadSequence = 0;
  /** Bumped by every change a reader of the table could see, so views of it can be kept until it changes. */
  private changes = 0;

  get revision(): number {
    return this.changes;
  }

  constructor(private readonly batchingEnabled: boolean) {}

  /** Adds a version in state 'loading', or returns the serving entry that a reload will update. */
  begin(model: ModelToServe): { entry: ModelEntry; isNew: boolean } {
    const key = modelKey(model.name, model.version);
    const existing = this.entries.get(key);
    if (existing !== undefined) return { entry: existing, isNew: false };
    const entry: ModelEntry = {
      model,
      version: model.version,
      loadSequence: ++this.loadSequence,
      state: 'loading',
      signature: model.signature,
      batchable: false,
      inline: false,
    };
    this.entries.set(key, entry);
    this.changes++;
    return { entry, isNew: true };
  }

  /** Marks a version ready with what a worker reported about it. */
  ready(entry: ModelEntry, model: ModelToServe, report: LoadReport | undefined, inline: boolean): void {
    entry.model = model;
    entry.inline = inline;
    entry.signature = model.signature ?? report?.signature ?? null;
    entry.batchable =
      this.batchingEnabled && entry.signature !== null && hasDynamicBatchDimension(entry.signature);
    entry.state = 'ready';
    entry.loadSequence = ++this.loadSequence;
    this.changes++;
  }

  /** The entry of exactly this version, loading or ready; undefined when it is not in the table. */
  get(name: string, version: string): ModelEntry | undefined {
    return this.entries.get(modelKey(name, version));
  }

  /** The model's outputs turned out not to split by rows: it runs one request at a time from now on. */
  markNotBatchable(name: string, version: string): void {
    const entry = this.get(name, version);
    if (entry === undefined) return;
    entry.batchable = false;
    this.changes++;
  }

  remove(name: string, version: string): void {
    if (this.entries.delete(modelKey(name, version))) this.changes++;
  }

  /** The version a request names, or the newest ready one; NOT_FOUND / NOT_READY otherwise. */
  resolve(name: string, version: string | undefined): ModelEntry {
    if (version !== undefined) {
      const entry = this.entries.get(modelKey(name, version));
      if (entry === undefined)
        throw new BerthError('NOT_FOUND', `model "${name}" version ${version} is not loaded`);
      if (entry.state !== 'ready')
        throw new BerthError('NOT_READY', `model "${name}" version ${version} is still loading`);
      return entry;
    }
    const entry = newest(this.versionsOf(name).filter((candidate) => candidate.state === 'ready'));
    if (entry !== undefined) return entry;
    if (this.versionsOf(name).length > 0)
      throw new BerthError('NOT_READY', `model "${name}" is still loading`);
    throw new BerthError('NOT_FOUND', `model "${name}" is not loaded`);
  }

  versionsOf(name: string): ModelEntry[] {
    return [...this.entries.values()].filter((entry) => entry.model.name === name);
  }

  all(): ModelEntry[] {
    return [...this.entries.values()];
  }

  /** What a newly started worker must load: every version, loading ones included. */
  models(): ModelToServe[] {
    return this.all().map((entry) => entry.model);
  }
}
