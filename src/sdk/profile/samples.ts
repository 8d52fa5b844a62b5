/**
 * The requests a profile sends: the lines of a samples file (one JSON body each), or one v2 infer
 * request made from the model's signature (dynamic dimensions 1, every value 0/false/"").
 */
import { readFile, stat } from 'node:fs/promises';
import { BerthError, toBerthError } from '../../core/errors.js';
import type { ModelSignature, TensorSpec } from '../../core/tensor.js';

export interface ProfileRequest {
  /** /score, or the model's v2 infer route when the body has an `inputs` array. */
  path: string;
  body: string;
}

export interface ProfileSamples {
  source: 'file' | 'signature';
  requests: ProfileRequest[];
}

export const MAX_SAMPLES_BYTES = 64 * 1024 * 1024;
export const MAX_SAMPLES = 10_000;
/** A sample made from a signature holds at most this many values per input. */
const MAX_GENERATED_ELEMENTS = 1_000_000;

function inferPath(name: string, version: string): string {
  return `/v2/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/infer`;
}

export async function readSamples(
  file: string,
  model: { name: string; version: string },
): Promise<ProfileSamples> {
  let text: string;
  try {
    const info = await stat(file);
    if (info.size > MAX_SAMPLES_BYTES) {
      throw new BerthError(
        'BAD_INPUT',
        `--requests ${file} is ${info.size} bytes; the limit is ${MAX_SAMPLES_BYTES}`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof BerthError) throw error;
    throw new BerthError('PATH_NOT_FOUND', `cannot read --requests ${file}: ${toBerthError(error).message}`);
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new BerthError('BAD_INPUT', `--requests ${file} holds no samples`);
  if (lines.length > MAX_SAMPLES) {
    throw new BerthError(
      'BAD_INPUT',
      `--requests ${file} holds ${lines.length} samples; the limit is ${MAX_SAMPLES}`,
    );
  }
  const requests = lines.map((line, index) => {
    let body: unknown;
    try {
      body = JSON.parse(line);
    } catch {
      throw new BerthError('BAD_INPUT', `--requests ${file} line ${index + 1} is not JSON`);
    }
    if (typeof body !== 'object' || body === null) {
      throw new BerthError(
        'BAD_INPUT',
        `--requests ${file} line ${index + 1} must be a JSON object or array`,
      );
    }
    const v2 = !Array.isArray(body) && Array.isArray((body as { inputs?: unknown }).inputs);
    return { path: v2 ? inferPath(model.name, model.version) : '/score', body: line };
  });
  return { source: 'file', requests };
}

function zeroValue(spec: TensorSpec): number | boolean | string {
  if (spec.datatype === 'BOOL') return false;
  if (spec.datatype === 'BYTES') return '';
  return 0;
}

export function samplesFromSignature(
  signature: ModelSignature | null,
  model: { name: string; version: string },
): ProfileSamples {
  if (signature === null || signature.inputs.length === 0) {
    throw new BerthError(
      'BAD_INPUT',
      `model ${model.name}:${model.version} has no signature to make a sample from: give --requests samples.jsonl`,
    );
  }
  const inputs = signature.inputs.map((spec) => {
    const shape = spec.shape.map((dim) => (typeof dim === 'number' && dim > 0 ? dim : 1));
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > MAX_GENERATED_ELEMENTS) {
      throw new BerthError(
        'BAD_INPUT',
        `input ${spec.name} holds ${count} values; give --requests samples.jsonl instead of a generated sample`,
      );
    }
    return { name: spec.name, shape, datatype: spec.datatype, data: new Array(count).fill(zeroValue(spec)) };
  });
  return {
    source: 'signature',
    requests: [{ path: inferPath(model.name, model.version), body: JSON.stringify({ inputs }) }],
  };
}
