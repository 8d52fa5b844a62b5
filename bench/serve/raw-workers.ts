/**
 * Part of the limit: one single-threaded session per core, each on its own worker thread, all
 * running at once (the shape berth's engine uses). onnxruntime-node runs a session on the thread
 * that calls it, so sessions in parallel need threads of their own; their rates add up.
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { timeSession, type SessionModel, type SessionRate } from './raw-session.js';

interface SessionJob {
  model: SessionModel;
  batch: number;
  windowMs: number;
}

/** `sessions` workers, started together, each running batches of `batch` for `windowMs`. */
export async function measureParallelSessions(
  model: SessionModel,
  batch: number,
  windowMs: number,
  sessions = availableParallelism(),
): Promise<{ sessions: number; itemsPerSecond: number; runMs: number }> {
  const url = new URL(import.meta.url);
  const job: SessionJob = { model, batch, windowMs };
  const rates = await Promise.all(
    Array.from(
      { length: sessions },
      () =>
        new Promise<SessionRate>((resolve, reject) => {
          const worker = new Worker(url, { workerData: job });
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

if (!isMainThread && parentPort !== null) {
  const job = workerData as SessionJob;
  parentPort.postMessage(await timeSession(job.model, 1, job.batch, job.windowMs));
}
