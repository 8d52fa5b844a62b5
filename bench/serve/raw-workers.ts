/**
 * Part of the limit: one single-threaded session per core, each on its own worker thread, all
 * running at once (the shape berth's engine uses). onnxruntime-node runs a session on the thread
 * that calls it, so sessions in parallel need threads of their own; their rates add up.
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

interface SessionJob {
  file: string;
  input: string;
  itemShape: number[];
  batch: number;
  windowMs: number;
}

interface SessionRate {
  itemsPerSecond: number;
  runMs: number;
}

/** `sessions` workers, started together, each running batches of `batch` for `windowMs`. */
export async function measureParallelSessions(
  job: Omit<SessionJob, 'batch'>,
  batch: number,
  sessions = availableParallelism(),
): Promise<{ sessions: number; itemsPerSecond: number; runMs: number }> {
  const url = new URL(import.meta.url);
  const rates = await Promise.all(
    Array.from(
      { length: sessions },
      () =>
        new Promise<SessionRate>((resolve, reject) => {
          const worker = new Worker(url, { workerData: { ...job, batch } satisfies SessionJob });
          worker.once('message', (rate: SessionRate) => resolve(rate));
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`raw session worker exited with ${code}`));
          });
        }),
    ),
  );
  return {
    sessions,
    itemsPerSecond: rates.reduce((sum, rate) => sum + rate.itemsPerSecond, 0),
    runMs: rates.reduce((sum, rate) => sum + rate.runMs, 0) / rates.length,
  };
}

async function runSessionJob(job: SessionJob): Promise<SessionRate> {
  const session = await ort.InferenceSession.create(job.file, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  try {
    const size = job.itemShape.reduce((a, b) => a * b, 1) * job.batch;
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = (i % 251) / 251;
    const feeds = { [job.input]: new ort.Tensor('float32', data, [job.batch, ...job.itemShape]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    let runs = 0;
    const start = performance.now();
    while (performance.now() - start < job.windowMs || runs < 3) {
      await session.run(feeds);
      runs++;
    }
    const elapsedMs = performance.now() - start;
    return { itemsPerSecond: (runs * job.batch * 1000) / elapsedMs, runMs: elapsedMs / runs };
  } finally {
    await session.release();
  }
}

if (!isMainThread && parentPort !== null) {
  parentPort.postMessage(await runSessionJob(workerData as SessionJob));
}
