/**
 * The v2 infer header's hand-written fast path must agree with the zod schema: the same request
 * out for every header it accepts, and the schema's own error for every header it passes on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../../src/core/errors.js';
import { parseInferRequest, parseWithSchema } from '../../src/scoring/protocols/v2-json.js';

const input = { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] };

const headers: unknown[] = [
  { inputs: [input] },
  { id: 'r1', inputs: [input], outputs: [{ name: 'y' }], parameters: { binary_data_output: true } },
  { inputs: [{ ...input, parameters: { binary_data_size: 12 } }] },
  { inputs: [{ name: 'x', shape: [], datatype: 'BYTES' }] },
  { inputs: [input], outputs: [{ name: 'y', parameters: { binary_data: false } }] },
  { inputs: [input, { ...input, name: 'z', datatype: 'INT64' }] },
  // Everything below leaves the fast path.
  { inputs: [input], extra: 1 },
  { inputs: [{ ...input, extra: 1 }] },
  { inputs: [input], outputs: [{ name: 'y', extra: 1 }] },
  {},
  { inputs: [] },
  { inputs: 'x' },
  { id: 7, inputs: [input] },
  { inputs: [input], parameters: [] },
  { inputs: [input], parameters: null },
  { inputs: [{ ...input, name: '' }] },
  { inputs: [{ ...input, datatype: 'FP99' }] },
  { inputs: [{ ...input, shape: [1, -3] }] },
  { inputs: [{ ...input, shape: [1, 1.5] }] },
  { inputs: [{ ...input, shape: new Array(33).fill(1) }] },
  { inputs: [{ ...input, shape: [2 ** 60] }] },
  { inputs: [{ name: 'x', datatype: 'FP32', data: [1] }] },
  { inputs: [{ shape: [1], datatype: 'FP32', data: [1] }] },
  { inputs: [{ ...input, parameters: 'p' }] },
  { inputs: [input], outputs: [{}] },
  { inputs: [input], outputs: [{ name: 3 }] },
  { inputs: [input], outputs: {} },
  JSON.parse('{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"__proto__":{"a":1}}'),
  [],
  null,
  'inputs',
];

function outcome(parse: (header: unknown) => unknown, header: unknown): unknown {
  try {
    return { value: parse(header) };
  } catch (error) {
    assert.ok(error instanceof BerthError);
    return { code: error.code, message: error.message };
  }
}

describe('v2 infer header fast path', () => {
  it('answers exactly as the schema does', () => {
    for (const header of headers) {
      assert.deepEqual(
        outcome(parseInferRequest, header),
        outcome(parseWithSchema, header),
        JSON.stringify(header),
      );
    }
  });

  it('takes the fast path for well-formed headers (the header itself comes back)', () => {
    for (const header of headers.slice(0, 6)) assert.equal(parseInferRequest(header), header);
    for (const header of headers.slice(6, 9)) assert.notEqual(parseInferRequest(header), header);
  });
});
