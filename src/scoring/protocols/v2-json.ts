/**
 * The Open Inference Protocol v2 infer request and response, JSON side. The request header is
 * validated with zod (tensor `data` is left unparsed here and converted element by element in
 * tensor-json.ts); inputs that carry `parameters.binary_data_size` are read from the binary part.
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { tensorDatatypes } from '../../core/tensor.js';
import type { TensorValue } from '../engine.js';
import { decodeBinaryTensor, encodeBinaryTensor } from './v2-binary.js';
import { flatJsonText, jsonToTensorData } from './tensor-json.js';

const parametersSchema = z.record(z.string(), z.unknown());

const inputSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()).max(32),
  datatype: z.enum(tensorDatatypes, { error: `datatype must be one of ${tensorDatatypes.join(', ')}` }),
  data: z.unknown().optional(),
  parameters: parametersSchema.optional(),
});

const outputSchema = z.object({ name: z.string().min(1), parameters: parametersSchema.optional() });

const inferRequestSchema = z.object({
  id: z.string().optional(),
  inputs: z.array(inputSchema).min(1, 'inputs must list at least one tensor'),
  outputs: z.array(outputSchema).optional(),
  parameters: parametersSchema.optional(),
});

export interface RequestedOutput {
  name: string;
  /** Undefined: follow the request's `binary_data_output`. */
  binary: boolean | undefined;
}

export interface DecodedInferRequest {
  id: string | undefined;
  inputs: Record<string, TensorValue>;
  outputs: RequestedOutput[] | undefined;
  /** Top-level `parameters.binary_data_output`. */
  binaryOutput: boolean;
}

/** Formats a zod error as one line naming the first bad field. */
export function zodMessage(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid request';
  const path = issue.path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i > 0 ? '.' : ''}${String(part)}`))
    .join('');
  return `${prefix}${path === '' ? '' : `${path}: `}${issue.message}`;
}

function binaryFlag(parameters: Record<string, unknown> | undefined, key: string): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw new BerthError('BAD_INPUT', `parameters.${key} must be true or false`);
  return value;
}

type InferRequestShape = z.infer<typeof inferRequestSchema>;

/**
 * Validates a parsed request header, by hand when it is plainly well formed (the common small
 * request, where zod costs more than the rest of decoding) and through zod otherwise, so every
 * error message still comes from the schema.
 */
export function parseInferRequest(header: unknown): InferRequestShape {
  return isWellFormed(header) ? header : parseWithSchema(header);
}

/** The schema's answer alone (the fast path's reference; tests compare the two). */
export function parseWithSchema(header: unknown): InferRequestShape {
  const parsed = inferRequestSchema.safeParse(header);
  if (!parsed.success) throw new BerthError('BAD_INPUT', zodMessage(parsed.error));
  return parsed.data;
}

const datatypeNames = new Set<string>(tensorDatatypes);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isShape(value: unknown): value is number[] {
  if (!Array.isArray(value) || value.length > 32) return false;
  for (const dim of value as unknown[]) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) return false;
  }
  return true;
}

/**
 * True only for headers the schema accepts as they are: anything unusual (an unknown key
 * included, since zod would drop it) answers false and goes through zod.
 */
function isWellFormed(header: unknown): header is InferRequestShape {
  if (!isRecord(header)) return false;
  for (const key in header) {
    const value = header[key];
    if (key === 'inputs') {
      if (!Array.isArray(value) || value.length === 0) return false;
      for (const input of value as unknown[]) if (!isWellFormedInput(input)) return false;
    } else if (key === 'id') {
      if (typeof value !== 'string') return false;
    } else if (key === 'parameters') {
      if (!isRecord(value)) return false;
    } else if (key === 'outputs') {
      if (!Array.isArray(value)) return false;
      for (const output of value as unknown[]) if (!isWellFormedOutput(output)) return false;
    } else {
      return false;
    }
  }
  return Object.hasOwn(header, 'inputs');
}

function isWellFormedInput(input: unknown): boolean {
  if (!isRecord(input)) return false;
  let keys = 0;
  for (const key in input) {
    const value = input[key];
    keys++;
    if (key === 'name') {
      if (typeof value !== 'string' || value.length === 0) return false;
    } else if (key === 'shape') {
      if (!isShape(value)) return false;
    } else if (key === 'datatype') {
      if (typeof value !== 'string' || !datatypeNames.has(value)) return false;
    } else if (key === 'parameters') {
      if (!isRecord(value)) return false;
    } else if (key !== 'data') {
      return false;
    }
  }
  return (
    keys >= 3 &&
    Object.hasOwn(input, 'name') &&
    Object.hasOwn(input, 'shape') &&
    Object.hasOwn(input, 'datatype')
  );
}

function isWellFormedOutput(output: unknown): boolean {
  if (!isRecord(output)) return false;
  for (const key in output) {
    const value = output[key];
    if (key === 'name') {
      if (typeof value !== 'string' || value.length === 0) return false;
    } else if (key !== 'parameters' || !isRecord(value)) {
      return false;
    }
  }
  return Object.hasOwn(output, 'name');
}

/**
 * Decodes a parsed v2 infer request. `binary` is the part of the body after the JSON header
 * (undefined for a plain JSON request).
 */
export function decodeInferRequest(header: unknown, binary: Buffer | undefined): DecodedInferRequest {
  const request = parseInferRequest(header);
  const inputs: Record<string, TensorValue> = {};
  let offset = 0;
  for (const input of request.inputs) {
    if (Object.hasOwn(inputs, input.name))
      throw new BerthError('BAD_INPUT', `input "${input.name}" appears twice`);
    const size = input.parameters?.binary_data_size;
    let data;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw new BerthError(
          'BAD_INPUT',
          `input "${input.name}": parameters.binary_data_size must be a non-negative integer`,
        );
      }
      if (binary === undefined) {
        throw new BerthError(
          'BAD_INPUT',
          `input "${input.name}" has binary_data_size but the request has no Inference-Header-Content-Length`,
        );
      }
      if (input.data !== undefined)
        throw new BerthError('BAD_INPUT', `input "${input.name}" has both data and binary_data_size`);
      if (offset + size > binary.length) {
        throw new BerthError('BAD_INPUT', `input "${input.name}": binary data ends before its ${size} bytes`);
      }
      data = decodeBinaryTensor(
        input.name,
        input.datatype,
        input.shape,
        binary.subarray(offset, offset + size),
      );
      offset += size;
    } else {
      if (input.data === undefined) throw new BerthError('BAD_INPUT', `input "${input.name}" has no data`);
      data = jsonToTensorData(input.name, input.datatype, input.shape, input.data);
    }
    inputs[input.name] = { datatype: input.datatype, shape: input.shape, data };
  }
  if (binary !== undefined && offset !== binary.length) {
    throw new BerthError(
      'BAD_INPUT',
      `the body has ${binary.length - offset} bytes after the last binary input`,
    );
  }
  const outputs = request.outputs?.map((output) => ({
    name: output.name,
    binary: binaryFlag(output.parameters, 'binary_data'),
  }));
  return {
    id: request.id,
    inputs,
    outputs,
    binaryOutput: binaryFlag(request.parameters, 'binary_data_output') ?? false,
  };
}

export interface EncodedInferResponse {
  /** The JSON header (the whole body when `binary` is empty). */
  json: string;
  /** Binary output bytes in output order; empty for an all-JSON response. */
  binary: Uint8Array[];
}

/** Writes the v2 infer response; outputs asked for in binary go after the JSON header. */
export function encodeInferResponse(
  model: string,
  version: string,
  id: string | undefined,
  outputs: Record<string, TensorValue>,
  request: Pick<DecodedInferRequest, 'outputs' | 'binaryOutput'>,
): EncodedInferResponse {
  const binary: Uint8Array[] = [];
  let json = `{"model_name":${JSON.stringify(model)},"model_version":${JSON.stringify(version)}`;
  if (id !== undefined) json += `,"id":${JSON.stringify(id)}`;
  json += ',"outputs":[';
  const names = request.outputs?.map((output) => output.name) ?? Object.keys(outputs);
  let first = true;
  for (const name of names) {
    const value = outputs[name];
    if (value === undefined) continue;
    const asked = request.outputs?.find((output) => output.name === name)?.binary;
    const head = `${first ? '' : ','}{"name":${JSON.stringify(name)},"datatype":"${value.datatype}","shape":[${value.shape.join(',')}]`;
    first = false;
    if (asked ?? request.binaryOutput) {
      const bytes = encodeBinaryTensor(value);
      binary.push(bytes);
      json += `${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      json += `${head},"data":${flatJsonText(value)}}`;
    }
  }
  return { json: `${json}]}`, binary };
}
