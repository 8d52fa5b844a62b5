/**
 * Checks decoded inputs against a model's signature before they reach the engine, so every front
 * end answers the same clear message for a missing, extra, mistyped or misshapen input.
 */
import { BerthError } from '../../core/errors.js';
import type { Dimension, ModelSignature, TensorDatatype, TensorSpec } from '../../core/tensor.js';
import type { TensorValue } from '../engine.js';

export function wireShape(shape: readonly Dimension[]): number[] {
  return shape.map((dim) => (typeof dim === 'number' ? dim : -1));
}

function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.map((dim) => (typeof dim === 'number' ? dim : -1)).join(',')}]`;
}

export function checkShape(spec: TensorSpec, shape: readonly number[]): void {
  const expected = spec.shape;
  const matches =
    expected.length === shape.length &&
    expected.every((dim, i) => typeof dim !== 'number' || dim === shape[i]);
  if (!matches) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${spec.name}" has shape ${formatShape(shape)}, expected ${formatShape(expected)} (-1: any size)`,
    );
  }
  if (shape.length > 0 && shape[0] === 0 && typeof expected[0] !== 'number') {
    throw new BerthError('BAD_INPUT', `input "${spec.name}" has an empty batch (first dimension 0)`);
  }
}

export function checkDatatype(spec: TensorSpec, datatype: TensorDatatype): void {
  if (spec.datatype !== datatype) {
    throw new BerthError(
      'BAD_INPUT',
      `input "${spec.name}" has datatype ${datatype}, expected ${spec.datatype}`,
    );
  }
}

/** Every declared input present once, nothing else; datatypes and shapes as declared. */
export function checkInputs(signature: ModelSignature | null, inputs: Record<string, TensorValue>): void {
  if (signature === null) return;
  for (const spec of signature.inputs) {
    const value = inputs[spec.name];
    if (value === undefined) throw new BerthError('BAD_INPUT', `missing input "${spec.name}"`);
    checkDatatype(spec, value.datatype);
    checkShape(spec, value.shape);
  }
  for (const name of Object.keys(inputs)) {
    if (!signature.inputs.some((spec) => spec.name === name)) {
      throw new BerthError(
        'BAD_INPUT',
        `unexpected input "${name}": the model takes ${signature.inputs.map((spec) => `"${spec.name}"`).join(', ')}`,
      );
    }
  }
}

export function checkOutputNames(signature: ModelSignature | null, names: readonly string[]): void {
  if (signature === null) return;
  for (const name of names) {
    if (!signature.outputs.some((spec) => spec.name === name)) {
      throw new BerthError(
        'BAD_INPUT',
        `unknown output "${name}": the model gives ${signature.outputs.map((spec) => `"${spec.name}"`).join(', ')}`,
      );
    }
  }
}

export function findInputSpec(signature: ModelSignature | null, name: string): TensorSpec | undefined {
  return signature?.inputs.find((spec) => spec.name === name);
}
