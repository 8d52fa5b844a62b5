/**
 * The limit: onnxruntime-node in this process with nothing around it (inputs already in memory),
 * sweeping intra-op threads x batch size. Whatever an engine adds, reading files included, shows
 * up as its distance from the best of these.
 */
import ort from 'onnxruntime-node';
import { image, imageShape, imageValues } from './data.js';

export interface RawPoint {
  threads: number;
  batch: number;
  itemsPerSecond: number;
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
    for (let i = 0; i < runs; i += 1) await session.run(feed);
    return { threads, batch, itemsPerSecond: (runs * batch) / ((performance.now() - started) / 1000) };
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
    for (const batch of [1, 8, 32]) points.push(await measure(modelPath, threads, batch, items));
  }
  const best = points.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  return { points, best };
}
