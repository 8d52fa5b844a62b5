/**
 * The Azure-ML-style `/score` body for an ONNX model served without a script:
 * `{"data": [...]}` for a single-input model, `{"inputs": {"<name>": [...]}}` for any model.
 * Shapes come from the nesting, datatypes from the signature. The answer is the single output's
 * nested array, or an object of nested arrays by output name.
 */
import { BerthError } from '../../core/errors.js';
import type { ModelSignature } from '../../core/tensor.js';
import type { TensorValue } from '../engine.js';
import { checkInputs, findInputSpec } from './signature-check.js';
import { nestedJsonText, nestedJsonToTensor } from './tensor-json.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeScoreBody(body: unknown, signature: ModelSignature): Record<string, TensorValue> {
  const names = signature.inputs.map((spec) => `"${spec.name}"`).join(', ');
  if (!isPlainObject(body)) {
    throw new BerthError(
      'BAD_INPUT',
      'the body must be a JSON object: {"data": [...]} or {"inputs": {"<name>": [...]}}',
    );
  }
  const inputs: Record<string, TensorValue> = {};
  if (Object.hasOwn(body, 'data')) {
    if (Object.hasOwn(body, 'inputs'))
      throw new BerthError('BAD_INPUT', 'send either "data" or "inputs", not both');
    const [only, ...others] = signature.inputs;
    if (only === undefined || others.length > 0) {
      throw new BerthError(
        'BAD_INPUT',
        `the model takes inputs ${names}: send {"inputs": {"<name>": [...]}}`,
      );
    }
    inputs[only.name] = nestedJsonToTensor(only.name, only.datatype, body.data);
  } else if (Object.hasOwn(body, 'inputs')) {
    const given = body.inputs;
    if (!isPlainObject(given))
      throw new BerthError('BAD_INPUT', '"inputs" must be an object of arrays by input name');
    for (const name of Object.keys(given)) {
      const spec = findInputSpec(signature, name);
      if (spec === undefined)
        throw new BerthError('BAD_INPUT', `unexpected input "${name}": the model takes ${names}`);
      inputs[name] = nestedJsonToTensor(name, spec.datatype, given[name]);
    }
  } else {
    throw new BerthError(
      'BAD_INPUT',
      `the body needs "data" (single-input model) or "inputs" (by name: ${names})`,
    );
  }
  checkInputs(signature, inputs);
  return inputs;
}

export function encodeScoreResponse(outputs: Record<string, TensorValue>): string {
  const names = Object.keys(outputs);
  if (names.length === 1) return nestedJsonText(outputs[names[0]!]!);
  let text = '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    text += `${i > 0 ? ',' : ''}${JSON.stringify(name)}:${nestedJsonText(outputs[name]!)}`;
  }
  return `${text}}`;
}
