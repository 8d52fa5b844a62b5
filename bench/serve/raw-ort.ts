/**
 * Part 1, the physical limit: onnxruntime-node in this process with nothing around it, sweeping
 * intra-op threads and batch size (runs back to back, one at a time, for a fixed window), and
 * one single-threaded session per core running at once on worker threads.
 */
import ort from 'onnxruntime-node';
import type { BenchConfig } from './config.js';
import { measureParallelSessions } from './raw-workers.js';
import { itemSize, sampleData, type BenchModel } from './models.js';
import { summarize } from './stats.js';

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
    const job = { file: model.file, input: model.input, itemShape: model.itemShape, windowMs: config.rawMs };
    for (const batch of config.parallelBatchSizes) {
      const rate = await measureParallelSessions(job, batch, config.parallelSessions);
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
  const options: ort.InferenceSession.SessionOptions =
    threads === undefined
      ? {}
      : { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
  const session = await ort.InferenceSession.create(model.file, options);
  try {
    const tensor = new ort.Tensor('float32', sampleData(batch * itemSize(model)), [
      batch,
      ...model.itemShape,
    ]);
    const feeds = { [model.input]: tensor };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    const samples: number[] = [];
    const start = performance.now();
    while (performance.now() - start < windowMs || samples.length < 3) {
      const t0 = performance.now();
      await session.run(feeds);
      samples.push(performance.now() - t0);
    }
    const elapsedMs = performance.now() - start;
    return {
      sessions: 1,
      threads,
      batch,
      itemsPerSecond: (samples.length * batch * 1000) / elapsedMs,
      runMs: summarize(samples).mean,
    };
  } finally {
    await session.release();
  }
}
