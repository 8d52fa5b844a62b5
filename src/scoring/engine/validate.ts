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

export function validateInferRequest(
  label: string,
  signature: ModelSignature,
  request: Pick<InferRequest, 'inputs' | 'outputs'>,
  hasBatchDimension: boolean,
): ValidatedRequest {
  const expected = new Map(signature.inputs.map((spec) => [spec.name, spec]));
  for (const name of Object.keys(request.inputs)) {
    if (!expected.has(name)) {
      throw new BerthError(
        'BAD_INPUT',
        `unknown input "${name}" for model ${label}: expected ${listNames(signature.inputs)}`,
      );
    }
  }
  const namedDims = new Map<string, { size: number; input: string }>();
  for (const spec of signature.inputs) {
    const value = request.inputs[spec.name];
    if (value === undefined) {
      throw new BerthError(
        'BAD_INPUT',
        `missing input "${spec.name}" for model ${label}: expected ${listNames(signature.inputs)}`,
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
          `unknown output "${name}" for model ${label}: expected ${listNames(signature.outputs)}`,
        );
      }
    }
  }
  return hasBatchDimension ? stacking(request.inputs) : { rows: 1, stackKey: undefined };
}

function checkTensor(
  spec: TensorSpec,
  value: TensorValue,
  namedDims: Map<string, { size: number; input: string }>,
): void {
  const where = `input "${spec.name}"`;
  if (value.datatype !== spec.datatype) {
    throw new BerthError(
      'BAD_INPUT',
      `${where}: expected datatype ${spec.datatype}, got ${String(value.datatype)}`,
    );
  }
  const shapeText = (): string =>
    `${where}: expected shape ${formatShape(spec.shape)}, got ${formatShape(value.shape)}`;
  if (!Array.isArray(value.shape) || value.shape.some((dim) => !Number.isInteger(dim) || dim < 0)) {
    throw new BerthError('BAD_INPUT', `${shapeText()} (dimensions must be non-negative integers)`);
  }
  if (value.shape.length !== spec.shape.length) throw new BerthError('BAD_INPUT', shapeText());
  spec.shape.forEach((dim, index) => {
    const actual = value.shape[index] ?? -1;
    if (typeof dim === 'number') {
      if (dim !== actual) throw new BerthError('BAD_INPUT', shapeText());
      return;
    }
    if (dim === '?' || dim === '') return;
    const seen = namedDims.get(dim);
    if (seen !== undefined && seen.size !== actual) {
      throw new BerthError(
        'BAD_INPUT',
        `${where}: dimension "${dim}" is ${actual} here but ${seen.size} in input "${seen.input}"; they must match`,
      );
    }
    namedDims.set(dim, { size: actual, input: spec.name });
  });
  if (!dataMatchesDatatype(spec.datatype, value.data)) {
    throw new BerthError(
      'BAD_INPUT',
      `${where}: ${spec.datatype} data must be ${expectedDataClass(spec.datatype)}, got ${describeData(value.data)}`,
    );
  }
  const count = elementCount(value.shape);
  if (value.data.length !== count) {
    throw new BerthError(
      'BAD_INPUT',
      `${where}: shape ${formatShape(value.shape)} holds ${count} elements, got ${value.data.length}`,
    );
  }
}

function stacking(inputs: Record<string, TensorValue>): ValidatedRequest {
  const names = Object.keys(inputs).sort();
  const rows = inputs[names[0] ?? '']?.shape[0] ?? 1;
  const parts: string[] = [];
  for (const name of names) {
    const value = inputs[name];
    // Inputs whose first dimensions differ have no single row count to stack by.
    if (value === undefined || value.shape[0] !== rows)
      return { rows: Math.max(rows, 1), stackKey: undefined };
    parts.push(`${name}:${value.datatype}:${value.shape.slice(1).join('x')}`);
  }
  return { rows, stackKey: parts.join('|') };
}

export function formatShape(shape: readonly Dimension[]): string {
  return `[${shape.map((dim) => (typeof dim === 'number' ? dim : -1)).join(',')}]`;
}

function listNames(specs: readonly TensorSpec[]): string {
  return specs.map((spec) => `"${spec.name}"`).join(', ') || 'none';
}
