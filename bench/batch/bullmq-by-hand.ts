/**
 * The obvious hand-written alternative to the cluster engine: BullMQ used as its documentation
 * shows, with nothing of berth. The submitter adds one job per 32 image paths and waits for each on
 * QueueEvents' `completed` event; each worker process is a BullMQ Worker (concurrency 1, one ONNX
 * Runtime thread) that reads its files, scores them in one run and returns the scores. No model
 * shipping, no retries, thresholds, timeouts or output files: what is left is the price of the
 * queue itself on this machine, the floor the cluster engine cannot go below.
 *
 * This file is both the driver (imported by main.ts) and, run with `--worker`, the worker process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import ort from 'onnxruntime-node';
import { imageShape, imageValues } from './data.js';
import { treeCpuSeconds } from './cpu.js';

const workerFlag = '--worker';
const queueName = 'by-hand';

interface Connection {
  host: string;
  port: number;
}

export interface ByHandResult {
  seconds: number;
  itemsPerSecond: number;
  /** CPU-seconds of this process and its children (the workers); the Redis server's is added by the caller. */
  cpuSeconds: number | undefined;
  missing: number;
}

async function runWorker(connection: Connection, prefix: string, modelPath: string): Promise<void> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const inputName = session.inputNames[0] ?? 'x';
  const worker = new Worker(
    queueName,
    async (job) => {
      const paths = job.data as string[];
      const input = new Float32Array(paths.length * imageValues);
      paths.forEach((path, index) => {
        const bytes = readFileSync(path);
        // A .npy file: 10 bytes, then the header whose length the bytes 8-9 give, then the values.
        const offset = 10 + bytes.readUInt16LE(8);
        input.set(
          new Float32Array(bytes.buffer, bytes.byteOffset + offset, imageValues),
          index * imageValues,
        );
      });
      const outputs = await session.run({
        [inputName]: new ort.Tensor('float32', input, [paths.length, ...imageShape]),
      });
      const scores = Object.values(outputs)[0]?.data as Float32Array;
      const per = scores.length / paths.length;
      return paths.map((path, index) => [path, Array.from(scores.subarray(index * per, (index + 1) * per))]);
    },
    { connection: { ...connection, maxRetriesPerRequest: null }, prefix, concurrency: 1 },
  );
  await worker.waitUntilReady();
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void worker
      .close()
      .then(() => session.release())
      .then(() => process.exit(0));
  });
}

async function startWorkers(
  count: number,
  connection: Connection,
  prefix: string,
  modelPath: string,
): Promise<ChildProcess[]> {
  const self = fileURLToPath(import.meta.url);
  return Promise.all(
    Array.from({ length: count }, async () => {
      const child = spawn(
        process.execPath,
        [self, workerFlag, JSON.stringify(connection), prefix, modelPath],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout?.setEncoding('utf8').on('data', (text: string) => text.includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`by-hand worker exited with ${code}`)));
      });
      return child;
    }),
  );
}

/** Scores `paths` in jobs of `perBatch`, `inFlight` jobs at once; a warm-up of 4 jobs first. */
export async function runByHand(options: {
  connection: Connection;
  prefix: string;
  modelPath: string;
  paths: string[];
  perBatch: number;
  inFlight: number;
  workers: number;
}): Promise<ByHandResult> {
  const { connection, prefix, perBatch } = options;
  const workers = await startWorkers(options.workers, connection, prefix, options.modelPath);
  const queue = new Queue(queueName, { connection, prefix });
  const events = new QueueEvents(queueName, {
    connection: { ...connection, maxRetriesPerRequest: null },
    prefix,
  });
  try {
    await queue.waitUntilReady();
    await events.waitUntilReady();
    const waiting = new Map<string, (scores: [string, number[]][]) => void>();
    events.on('completed', ({ jobId, returnvalue }) => {
      waiting.get(jobId)?.(returnvalue);
      waiting.delete(jobId);
    });
    let next = 0;
    const score = async (batches: string[][]): Promise<Set<string>> => {
      const seen = new Set<string>();
      const pending = [...batches];
      const lane = async (): Promise<void> => {
        for (let batch = pending.shift(); batch !== undefined; batch = pending.shift()) {
          const id = `job-${(next += 1)}`;
          const done = new Promise<[string, number[]][]>((resolve) => waiting.set(id, resolve));
          await queue.add('score', batch, { jobId: id, removeOnComplete: true });
          for (const [path] of await done) seen.add(path);
        }
      };
      await Promise.all(Array.from({ length: options.inFlight }, () => lane()));
      return seen;
    };
    const batches: string[][] = [];
    for (let start = 0; start < options.paths.length; start += perBatch)
      batches.push(options.paths.slice(start, start + perBatch));
    await score(batches.slice(0, 4));
    const cpuBefore = treeCpuSeconds();
    const started = performance.now();
    const seen = await score(batches);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = treeCpuSeconds();
    return {
      seconds,
      itemsPerSecond: seen.size / seconds,
      cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      missing: options.paths.length - seen.size,
    };
  } finally {
    await events.close();
    await queue.close();
    for (const child of workers) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }
}

if (process.argv[2] === workerFlag) {
  const [connection = '{}', prefix = '', modelPath = ''] = process.argv.slice(3);
  await runWorker(JSON.parse(connection) as Connection, prefix, modelPath);
}
