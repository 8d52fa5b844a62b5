/**
 * Batch scoring script for the PP-OCR direction classifier. `run` gets up to mini_batch_size file
 * paths; each file is one preprocessed text-line image, 3×48×192 float32 (raw little-endian `.f32`,
 * or `.npy` of that shape). It answers one result per file, keyed by path: a file that cannot be
 * read or has the wrong size gets no result, so berth reports that file alone as failed.
 * (A `.ts` script works the same way: berth compiles it with esbuild when a worker loads it.)
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';

const values = 3 * 48 * 192;
const labels = (process.env.OCR_LABELS ?? '0,180').split(',');

/** @type {ort.InferenceSession} */
let session;

export async function init(ctx) {
  session = await ctx.session();
  ctx.logger.info('classifier loaded', { inputs: session.inputNames });
}

/** @returns {Promise<Float32Array | undefined>} */
async function readImage(path) {
  const bytes = await readFile(path);
  // .npy (format 1.0): the header length is at bytes 8-9; .f32: the raw values.
  const offset = path.endsWith('.npy') ? 10 + bytes.readUInt16LE(8) : 0;
  if (bytes.length - offset !== values * 4) return undefined;
  const image = new Float32Array(values);
  for (let i = 0; i < values; i += 1) image[i] = bytes.readFloatLE(offset + i * 4);
  return image;
}

export async function run(paths, ctx) {
  const images = [];
  for (const path of paths) {
    const data = await readImage(path).catch(() => undefined);
    if (data === undefined)
      ctx.logger.warn('skipping a file that is not a 3x48x192 float32 tensor', { path });
    else images.push({ path, data });
  }
  const results = {};
  if (images.length === 0) return results;
  const batch = new Float32Array(images.length * values);
  images.forEach((image, i) => batch.set(image.data, i * values));
  const input = new ort.Tensor('float32', batch, [images.length, 3, 48, 192]);
  const output = await session.run({ [session.inputNames[0]]: input });
  const probabilities = output[session.outputNames[0]].data;
  images.forEach((image, i) => {
    const upright = probabilities[i * 2];
    const rotated = probabilities[i * 2 + 1];
    results[image.path] = {
      label: upright >= rotated ? labels[0] : labels[1],
      confidence: Math.max(upright, rotated),
    };
  });
  return results;
}
