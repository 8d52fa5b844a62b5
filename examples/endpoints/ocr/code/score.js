// The green deployment's scoring script: the same model, with a friendlier answer. berth calls
// init(ctx) once per worker and run(input, ctx) per request (or per batch when batching is on).
import { Tensor } from 'onnxruntime-node';

const labels = ['0', '180'];
let threshold = 0.5;

export function init(ctx) {
  threshold = Number(process.env.OCR_THRESHOLD ?? '0.5');
  ctx.logger.info('ocr classifier ready', { threshold });
}

/** `{"data": [N][3][48][192]}` → `{"predictions": [{"label", "score", "confident"}]}` */
export async function run(input, ctx) {
  const images = input.data;
  const flat = Float32Array.from(images.flat(3));
  const x = new Tensor('float32', flat, [images.length, 3, 48, 192]);
  const session = ctx.session();
  const outputs = await session.run({ x });
  const probabilities = Array.from(Object.values(outputs)[0].data);
  const predictions = images.map((_, index) => {
    const pair = probabilities.slice(index * 2, index * 2 + 2);
    const best = pair[1] > pair[0] ? 1 : 0;
    return { label: labels[best], score: pair[best], confident: pair[best] >= threshold };
  });
  return { predictions };
}
