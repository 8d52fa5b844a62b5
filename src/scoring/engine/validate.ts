/**
 * Checks an inference request against the model's signature before it is queued, so a bad request
 * costs no worker time and the caller learns exactly what is wrong (expected against got).
 */
import { BerthError } from '../../core/errors.js';
import type { Dimension, ModelSignature, TensorSpec } from '../../core/tensor.js';
import type { InferRequest, TensorValue } from '../engine.js';
import {
  dataMatchesDatatype,
  describeData,
  elementCount,
  expectedDataClass,
} from '../runtimes/tensor-data.js';

export interface ValidatedRequest {
  /** Rows along the first dimension (1 for a model that does not batch). */
  rows: number;
  /**
   * Requests with equal keys can be stacked along dimension 0 (same datatypes and same sizes past
   * the first dimension); undefined when this request cannot share a batch.
   */
  stackKey: string | undefined;
}

/** Which model a request is for, for error messages (the text is made only when one is thrown). */
export interface ModelLabel {
  name: string;
  version: string;
}

function labelOf(model: ModelLabel): string {
  return `"${model.name}" version ${model.version}`;
}

export function validateInferRequest(
  model: ModelLabel,
  signature: ModelSignature,
  request: Pick<InferRequest, 'inputs' | 'outputs'>,
  hasBatchDimension: boolean,
): ValidatedRequest {
  const expected = inputNames(signature);
  for (const name in request.inputs) {
    if (!expected.has(name)) {
      throw new BerthError(
        'BAD_INPUT',
        `unknown input "${name}" for model ${labelOf(model)}: expected ${listNames(signature.inputs)}`,
      );
    }
  }
  const namedDims: NamedDims = { seen: undefined };
  for (const spec of signature.inputs) {
    const value = request.inputs[spec.name];
    if (value === undefined) {
      throw new BerthError(
        'BAD_INPUT',
        `missing input "${spec.name}" for model ${labelOf(model)}: expected ${listNames(signature.inputs)}`,
      );
    }
    checkTensor(spec, value, namedDims);
  }
  if (request.outputs !== undefined) {
    const known = new Set(signature.outputs.map((spec) => spec.name));
    for (const name of request.outputs) {
      if (!known.has(name)) {
        throw new BerthError(
          'BAD_INPUT',
          `unknown output "${name}" for model ${labelOf(model)}: expected ${listNames(signature.outputs)}`,
        );
      }
    }
  }
  return hasBatchDimension ? stacking(request.inputs) : { rows: 1, stackKey: undefined };
}

/**
 * Named dimensions seen so far in one request (e.g. "batch" on two inputs must agree); the map is
 * made only for a signature that names a dimension. Every request is checked here, so the common
 * case allocates nothing that outlives the call: the garbage collector's share of a small model's
 * request is large.
 */
interface NamedDims {
  seen: Map<string, { size: number; input: string }> | undefined;
}

const inputNameSets = new WeakMap<ModelSignature, Set<string>>();

/** The signature's input names, made once per signature (signatures do not change once loaded). */
function inputNames(signature: ModelSignature): Set<string> {
  let names = inputNameSets.get(signature);
  if (names === undefined) {
    names = new Set(signature.inputs.map((spec) => spec.name));
    inputNameSets.set(signature, names);
  }
  return names;
}

function shapeError(spec: TensorSpec, value: TensorValue, detail = ''): BerthError {
  return new BerthError(
    'BAD_INPUT',
    `input "${spec.name}": expected shape ${formatShape(spec.shape)}, got ${formatShape(value.shape)}${detail}`,
  );
}

function checkTensor(spec: TensorSpec, value: TensorValue, namedDims: NamedDims): void {
  if (value.datatype !== spec.datatype) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${spec.name}": expected datatype ${spec.datatype}, got ${String(value.datatype)}`,
    );
  }
  const shape = value.shape;
  if (!Array.isArray(shape)) throw shapeError(spec, value, ' (dimensions must be non-negative integers)');
  for (let index = 0; index < shape.length; index++) {
    const dim = shape[index];
    if (!Number.isInteger(dim) || (dim as number) < 0)
      throw shapeError(spec, value, ' (dimensions must be non-negative integers)');
  }
  if (shape.length !== spec.shape.length) throw shapeError(spec, value);
  for (let index = 0; index < spec.shape.length; index++) {
    const dim = spec.shape[index];
    const actual = shape[index] ?? -1;
    if (typeof dim === 'number') {
      if (dim !== actual) throw shapeError(spec, value);
      continue;
    }
    if (dim === undefined || dim === '?' || dim === '') continue;
    namedDims.seen ??= new Map();
    const seen = namedDims.seen.get(dim);
    if (seen !== undefined && seen.size !== actual) {
      throw new BerthError(
        'BAD_INPUT',
        `input "${spec.name}": dimension "${dim}" is ${actual} here but ${seen.size} in input "${seen.input}"; they must match`,
      );
    }
    namedDims.seen.set(dim, { size: actual, input: spec.name });
  }
  if (!dataMatchesDatatype(spec.datatype, value.data)) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${spec.name}": ${spec.datatype} data must be ${expectedDataClass(spec.datatype)}, got ${describeData(value.data)}`,
    );
  }
  const count = elementCount(shape);
  if (value.data.length !== count) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${spec.name}": shape ${formatShape(shape)} holds ${count} elements, got ${value.data.length}`,
    );
  }
}

/** `name:datatype:AxB` past the first dimension: what must be equal for two inputs to stack. */
function stackPart(name: string, value: TensorValue): string {
  let trailing = '';
  for (let index = 1; index < value.shape.length; index++)
    trailing += index === 1 ? String(value.shape[index]) : `x${value.shape[index]}`;
  return `${name}:${value.datatype}:${trailing}`;
}

function stacking(inputs: Record<string, TensorValue>): ValidatedRequest {
  let only: string | undefined;
  let count = 0;
  for (const name in inputs) {
    only = name;
    if (++count > 1) break;
  }
  if (count === 1 && only !== undefined) {
    // One input (most models): no sort, no list of parts.
    const value = inputs[only]!;
    const rows = value.shape[0];
    return rows === undefined ? { rows: 1, stackKey: undefined } : { rows, stackKey: stackPart(only, value) };
  }
  const names = Object.keys(inputs).sort();
  const rows = inputs[names[0] ?? '']?.shape[0] ?? 1;
  const parts: string[] = [];
  for (const name of names) {
    const value = inputs[name];
    // Inputs whose first dimensions differ have no single row count to stack by.
    if (value === undefined || value.shape[0] !== rows)
      return { rows: Math.max(rows, 1), stackKey: undefined };
    parts.push(stackPart(name, value));
  }
  return { rows, stackKey: parts.join('|') };
}

export function formatShape(shape: readonly Dimension[]): string {
  return `[${shape.map((dim) => (typeof dim === 'number' ? dim : -1)).join(',')}]`;
}

function listNames(specs: readonly TensorSpec[]): string {
  return specs.map((spec) => `"${spec.name}"`).join(', ') || 'none';
}
