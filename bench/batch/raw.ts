/**
 * The limit: onnxruntime-node with nothing around it (inputs already in memory), sweeping intra-op
 * threads x batch size in this process, and also as several single-threaded processes running at
 * once (the shape the engines use, so the limit is not understated). Whatever an engine adds,
 * reading files included, shows up as its distance from the best of these.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { image, imageShape, imageValues } from './data.js';

export interface RawPoint {
  /** Sessions running at once, each in its own process (1: this process alone). */
  processes: number;
  threads: number;
  batch: number;
  itemsPerSecond: number;
  /** CPU time per item, all the session's threads (and processes) together. */
  cpuMicrosPerItem: number;
}

async function measure(modelPath: string, threads: number, batch: number, items: number): Promise<RawPoint> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  try {
    const input = new Float32Array(imageValues * batch);
    for (let i = 0; i < batch; i += 1) input.set(image(i), i * imageValues);
    const feed = { [session.inputNames[0] ?? 'x']: new ort.Tensor('float32', input, [batch, ...imageShape]) };
    for (let i = 0; i < 3; i += 1) await session.run(feed);
    const runs = Math.max(1, Math.round(items / batch));
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < runs; i += 1) await session.run(feed);
    const { user, system } = process.cpuUsage(cpu);
    return {
      processes: 1,
      threads,
      batch,
      itemsPerSecond: (runs * batch) / ((performance.now() - started) / 1000),
      cpuMicrosPerItem: (user + system) / (runs * batch),
    };
  } finally {
    await session.release();
  }
}

export async function sweepRaw(
  modelPath: string,
  items: number,
): Promise<{ points: RawPoint[]; best: RawPoint }> {
  const points: RawPoint[] = [];
  for (const threads of [1, 2]) {
    for (const batch of [1, 4, 8, 32]) points.push(await measure(modelPath, threads, batch, items));
  }
  const processes = availableParallelism();
  if (processes > 1) {
    for (const batch of [1, 4, 8]) points.push(await measureProcesses(modelPath, processes, batch, items));
  }
  const best = points.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  return { points, best };
}

/** `point`'s setting measured again (the bench repeats the best one after the engines have run). */
export async function measureAgain(modelPath: string, point: RawPoint, items: number): Promise<RawPoint> {
  return point.processes > 1
    ? measureProcesses(modelPath, point.processes, point.batch, items)
    : measure(modelPath, point.threads, point.batch, items);
}

/** `processes` single-threaded sessions, each in a child process, started together; their rates add up. */
async function measureProcesses(
  modelPath: string,
  processes: number,
  batch: number,
  items: number,
): Promise<RawPoint> {
  const self = fileURLToPath(import.meta.url);
  const points = await Promise.all(
    Array.from(
      { length: processes },
      () =>
        new Promise<RawPoint>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [self, rawChildFlag, modelPath, String(batch), String(items)],
            {
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
          let output = '';
          child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
          child.once('error', reject);
          child.once('exit', (code) => {
            const point = code === 0 ? (JSON.parse(output) as RawPoint) : undefined;
            if (point === undefined) reject(new Error(`raw child exited with ${code}`));
            else resolve(point);
          });
        }),
    ),
  );
  return {
    processes,
    threads: 1,
    batch,
    itemsPerSecond: points.reduce((sum, point) => sum + point.itemsPerSecond, 0),
    // Every child scores the same number of items.
    cpuMicrosPerItem: points.reduce((sum, point) => sum + point.cpuMicrosPerItem, 0) / points.length,
  };
}

const rawChildFlag = '--raw-child';

if (process.argv[2] === rawChildFlag) {
  const [modelPath = '', batch = '1', items = '1'] = process.argv.slice(3);
  const point = await measure(modelPath, 1, Number(batch), Number(items));
  process.stdout.write(JSON.stringify(point));
}
