/**
 * One onnxruntime-node session timed on the thread that calls it: `batch` items per run, runs back
 * to back for a fixed window after three warm-up runs. The in-process sweep and each worker thread
 * of the parallel part of the limit measure with it.
 */
import ort from 'onnxruntime-node';
import { itemSize, sampleData, type BenchModel } from './models.js';
import { summarize } from './stats.js';

/** The parts of a bench model a session needs; plain data, so it can be sent to a worker thread. */
export type SessionModel = Pick<BenchModel, 'file' | 'input' | 'itemShape'>;

export interface SessionRate {
  itemsPerSecond: number;
  /** Mean milliseconds per session.run. */
  runMs: number;
}

/** `threads` undefined: onnxruntime's default session options. */
export async function timeSession(
  model: SessionModel,
  threads: number | undefined,
  batch: number,
  windowMs: number,
): Promise<SessionRate> {
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
      itemsPerSecond: (samples.length * batch * 1000) / elapsedMs,
      runMs: summarize(samples).mean,
    };
  } finally {
    await session.release();
  }
}
