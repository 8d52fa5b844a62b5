/**
 * Reads an ONNX model's signature at registration. ONNX Runtime loads the model, so a file it
 * cannot load is rejected here rather than at the first deployment; the session is released as soon
 * as its inputs and outputs are read. The opset and producer come from the protobuf header, which
 * the session does not expose (see onnx-header.ts).
 */
import { stat } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { BerthError } from '../core/errors.js';
import { datatypeFromOnnx } from '../core/tensor.js';
import type { Dimension, ModelSignature, TensorSpec } from '../core/tensor.js';
import { readOnnxHeader } from './onnx-header.js';

export async function readOnnxSignature(path: string): Promise<ModelSignature> {
  await checkIsNonEmptyFile(path);
  const session = await loadSession(path);
  let inputs: TensorSpec[];
  let outputs: TensorSpec[];
  try {
    inputs = session.inputMetadata.map((meta) => toTensorSpec(path, 'input', meta));
    outputs = session.outputMetadata.map((meta) => toTensorSpec(path, 'output', meta));
  } finally {
    await session.release();
  }
  try {
    const { opset, producer } = await readOnnxHeader(path);
    return { inputs, outputs, opset, producer };
  } catch (error) {
    throw invalid(path, error instanceof Error ? error.message : String(error), error);
  }
}

async function checkIsNonEmptyFile(path: string): Promise<void> {
  const info = await stat(path).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new BerthError('PATH_NOT_FOUND', `${path} does not exist`, { cause: error });
    throw new BerthError('PATH_UNREADABLE', `${path} cannot be read: ${code ?? String(error)}`, {
      cause: error,
    });
  });
  if (!info.isFile()) throw invalid(path, 'it is not a file');
  // ONNX Runtime's own message for an empty file ("ModelProto does not have a graph") misleads.
  if (info.size === 0) throw invalid(path, 'the file is empty');
}

async function loadSession(path: string): Promise<InferenceSession> {
  try {
    // Loading from the path (not a buffer) lets ONNX Runtime find external-data files beside it.
    return await ort.InferenceSession.create(path);
  } catch (error) {
    throw invalid(path, onnxRuntimeReason(error), error);
  }
}

/**
 * ONNX Runtime's messages open with "Load model from <path> failed:" and sometimes the C++ source
 * location and function signature; the user needs only what follows, on one line.
 */
export function onnxRuntimeReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n').find((line) => line.trim() !== '') ?? '';
  const reason = firstLine
    .replace(/^Load model from .* failed:/, '')
    .replace(/^\S+\.(?:cc|cpp|h):\d+ [\w:~<>]+\([^()]*\) /, '')
    .trim();
  const unsupported = /^Unsupported data type: (\d+)$/.exec(reason);
  if (unsupported) {
    const code = Number(unsupported[1]);
    return `it uses tensor type ${onnxTypeNames[code] ?? `number ${code}`}, which berth cannot carry`;
  }
  return reason === '' ? 'ONNX Runtime gave no reason' : reason;
}

/**
 * ONNX element types beyond berth's datatypes, by their `TensorProto.DataType` number. onnxruntime-node
 * refuses to open a session whose inputs or outputs use them and reports only the number.
 */
const onnxTypeNames: Record<number, string> = {
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

function toTensorSpec(
  path: string,
  role: 'input' | 'output',
  meta: InferenceSession.ValueMetadata,
): TensorSpec {
  if (!meta.isTensor) {
    throw invalid(
      path,
      `${role} '${meta.name}' is not a tensor (a sequence, map or optional); berth serves tensors`,
    );
  }
  const datatype = datatypeFromOnnx(meta.type);
  if (datatype === undefined) {
    throw invalid(path, `${role} '${meta.name}' has type ${meta.type}, which berth cannot carry`);
  }
  return { name: meta.name, datatype, shape: meta.shape.map(toDimension) };
}

/** ONNX Runtime reports a named dynamic dim by its name and an unnamed one as '' (or a negative size). */
function toDimension(dim: number | string): Dimension {
  if (typeof dim === 'string') return dim === '' ? '?' : dim;
  return dim < 0 ? '?' : dim;
}

function invalid(path: string, reason: string, cause?: unknown): BerthError {
  return new BerthError('INVALID_MODEL', `${path} is not a valid ONNX model: ${reason}`, { cause });
}
