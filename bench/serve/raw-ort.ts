/**
 * Part 1, the physical limit: onnxruntime-node in this process with nothing around it, sweeping
 * intra-op threads and batch size (runs back to back, one at a time, for a fixed window), and
 * one single-threaded session per core running at once on worker threads.
 */
import type { BenchConfig } from './config.js';
import type { BenchModel } from './models.js';
import { timeSession } from './raw-session.js';
import { measureParallelSessions } from './raw-workers.js';

export interface RawPoint {
  /** Sessions running at once, each on its own worker thread (1: this thread alone). */
  sessions: number;
  /** Intra-op threads per session; undefined: onnxruntime's default thread count. */
  threads: number | undefined;
  batch: number;
  itemsPerSecond: number;
  /** Mean milliseconds per session.run. */
  runMs: number;
}

export interface RawResult {
  model: string;
  points: RawPoint[];
  best: RawPoint;
  /** Batch 1, default session options: what a naive caller gets. */
  default: RawPoint;
  bestOverDefault: number;
}

export async function measureRaw(model: BenchModel, config: BenchConfig): Promise<RawResult> {
  const points: RawPoint[] = [];
  const defaultPoint = await measure(model, undefined, 1, config.rawMs);
  for (const threads of config.threadCounts) {
    for (const batch of config.batchSizes) points.push(await measure(model, threads, batch, config.rawMs));
  }
  if (config.parallelSessions > 1) {
    const session = { file: model.file, input: model.input, itemShape: model.itemShape };
    for (const batch of config.parallelBatchSizes) {
      const rate = await measureParallelSessions(session, batch, config.rawMs, config.parallelSessions);
      points.push({ ...rate, threads: 1, batch });
    }
  }
  const best = [defaultPoint, ...points].reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  return {
    model: model.name,
    points,
    best,
    default: defaultPoint,
    bestOverDefault: best.itemsPerSecond / defaultPoint.itemsPerSecond,
  };
}

async function measure(
  model: BenchModel,
  threads: number | undefined,
  batch: number,
  windowMs: number,
): Promise<RawPoint> {
  return { sessions: 1, threads, batch, ...(await timeSession(model, threads, batch, windowMs)) };
}
