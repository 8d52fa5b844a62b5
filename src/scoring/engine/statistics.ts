/**
 * Per model-version counters in the shape of Triton's statistics extension: requests (success,
 * fail, queue, compute) count and time each request; `inferenceCount` counts items (rows) and
 * `executionCount` counts runs, so their ratio is the average batch size.
 */
import type { BatchEvent, ModelStatistics } from '../engine.js';
import { modelKey } from './versions.js';

export type BatchListener = (event: BatchEvent) => void;

export class StatisticsRecorder {
  private readonly byModel = new Map<string, ModelStatistics>();

  private entry(name: string, version: string): ModelStatistics {
    const key = modelKey(name, version);
    let stats = this.byModel.get(key);
    if (stats === undefined) {
      stats = {
        name,
        version,
        inferenceCount: 0,
        executionCount: 0,
        success: { count: 0, ns: 0 },
        fail: { count: 0, ns: 0 },
        queue: { count: 0, ns: 0 },
        compute: { count: 0, ns: 0 },
        lastInference: 0,
      };
      this.byModel.set(key, stats);
    }
    return stats;
  }

  /** Makes a model show up with zeros from the moment it is loaded. */
  register(name: string, version: string): void {
    this.entry(name, version);
  }

  forget(name: string, version: string): void {
    this.byModel.delete(modelKey(name, version));
  }

  execution(name: string, version: string, rows: number): void {
    const stats = this.entry(name, version);
    stats.executionCount += 1;
    stats.inferenceCount += rows;
    stats.lastInference = Date.now();
  }

  success(name: string, version: string, totalNs: number, queueNs: number, computeNs: number): void {
    const stats = this.entry(name, version);
    add(stats.success, totalNs);
    add(stats.queue, queueNs);
    add(stats.compute, computeNs);
  }

  failure(name: string, version: string, totalNs: number): void {
    add(this.entry(name, version).fail, totalNs);
  }

  snapshot(name?: string, version?: string): ModelStatistics[] {
    return [...this.byModel.values()]
      .filter(
        (stats) =>
          (name === undefined || stats.name === name) && (version === undefined || stats.version === version),
      )
      .map((stats) => structuredClone(stats));
  }
}

function add(counter: { count: number; ns: number }, ns: number): void {
  counter.count += 1;
  counter.ns += Math.max(0, Math.round(ns));
}
