/**
 * `node dist/bench/serve/json-decode.js [--rounds 200]`: a worker thread's decoding of the JSON
 * bench bodies (the PP-OCR 1x3x48x192 float32 image as a v2 request and as a nested `/score`
 * body), with the parser that reads numbers straight from the bytes against the JSON.parse path it
 * replaced. Both run in this process, alternating, so a busy machine slows them alike; the answer
 * is each one's median and best time, and their ratios.
 */
import { hasDynamicBatchDimension, type ModelSignature } from '../../src/core/tensor.js';
import type { EncodedInferRequest, TensorValue } from '../../src/scoring/engine.js';
import { decodeBody } from '../../src/scoring/engine/decode-body.js';
import { validateInferRequest } from '../../src/scoring/engine/validate.js';
import { decodeScoreBody } from '../../src/scoring/protocols/azure.js';
import { parseJsonText } from '../../src/scoring/protocols/json-text.js';
import { checkInputs } from '../../src/scoring/protocols/signature-check.js';
import { decodeInferRequest } from '../../src/scoring/protocols/v2-json.js';
import { prepareModels } from './models.js';
import { buildPayloads } from './payloads.js';
import { median } from './stats.js';

const index = process.argv.indexOf('--rounds');
const rounds = index >= 0 ? Number(process.argv[index + 1]) : 200;

/** decodeBody as it was before the byte parser: UTF-8 text, JSON.parse, arrays into typed arrays. */
function decodeWithJsonParse(
  format: EncodedInferRequest['format'],
  body: Uint8Array,
  model: { name: string; version: string; signature: ModelSignature; hasBatchDimension: boolean },
): Record<string, TensorValue> {
  const parsed = parseJsonText(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  let inputs: Record<string, TensorValue>;
  if (format === 'v2-json') {
    inputs = decodeInferRequest(parsed, undefined).inputs;
    checkInputs(model.signature, inputs);
  } else {
    inputs = decodeScoreBody(parsed, model.signature);
  }
  validateInferRequest(model, model.signature, { inputs, outputs: undefined }, model.hasBatchDimension);
  return inputs;
}

function sameBytes(a: TensorValue, b: TensorValue): boolean {
  const bytes = (value: TensorValue) =>
    Buffer.from(
      (value.data as Float32Array).buffer,
      (value.data as Float32Array).byteOffset,
      (value.data as Float32Array).byteLength,
    );
  return a.shape.join() === b.shape.join() && bytes(a).equals(bytes(b));
}

const { ocr } = await prepareModels();
const payloads = buildPayloads(ocr);
const model = {
  name: ocr.name,
  version: '1',
  signature: ocr.signature,
  hasBatchDimension: hasDynamicBatchDimension(ocr.signature),
};
const cases: [string, EncodedInferRequest['format'], Buffer][] = [
  ['v2 JSON', 'v2-json', payloads.v2Json.body],
  ['/score JSON', 'azure-json', payloads.scoreJson.body],
];

for (const [label, format, body] of cases) {
  const before = decodeWithJsonParse(format, body, model)[ocr.input]!;
  const after = decodeBody(format, body, model).inputs[ocr.input]!;
  if (!sameBytes(before, after)) throw new Error(`${label}: the two decoders disagree`);
  const times = { old: [] as number[], new: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    let start = performance.now();
    decodeWithJsonParse(format, body, model);
    times.old.push(performance.now() - start);
    start = performance.now();
    decodeBody(format, body, model);
    times.new.push(performance.now() - start);
  }
  // The first tenth warms the JIT up and is left out. The fastest run is the one others on the
  // machine disturbed least; the median is the typical one.
  const warm = Math.floor(rounds / 10);
  const summary = (values: number[]) => {
    const kept = values.slice(warm);
    return { median: median(kept), best: Math.min(...kept) };
  };
  const old = summary(times.old);
  const now = summary(times.new);
  console.log(
    `${label} (${(body.byteLength / 1024).toFixed(0)} KiB): JSON.parse path ${old.median.toFixed(3)} ms ` +
      `(best ${old.best.toFixed(3)}), byte parser ${now.median.toFixed(3)} ms (best ${now.best.toFixed(3)}), ` +
      `ratio ${(old.median / now.median).toFixed(2)}x (best to best ${(old.best / now.best).toFixed(2)}x)`,
  );
}
