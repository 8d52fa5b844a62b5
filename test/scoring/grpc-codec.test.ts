import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { decodeInputs } from '../../src/scoring/grpc/decode.js';
import { encodeRaw, encodeStrings } from '../../src/scoring/grpc/encode.js';
import type { InferInputTensor, ModelInferRequest } from '../../src/scoring/grpc/messages.js';
import { grpcStatusOf } from '../../src/scoring/grpc/index.js';
import { status } from '@grpc/grpc-js';

function request(inputs: Partial<InferInputTensor>[], raw: Buffer[] = []): ModelInferRequest {
  return {
    model_name: 'm',
    model_version: '',
    id: '',
    parameters: {},
    outputs: [],
    raw_input_contents: raw,
    inputs: inputs.map((input) => ({
      name: 'x',
      datatype: 'FP32',
      shape: [],
      parameters: {},
      contents: null,
      ...input,
    })),
  };
}

function badInput(body: () => unknown, pattern: RegExp): void {
  assert.throws(
    body,
    (error: unknown) => hasErrorCode(error, 'BAD_INPUT') && pattern.test((error as Error).message),
  );
}

describe('gRPC tensor codec', () => {
  it('views aligned raw contents in place and copies unaligned ones', () => {
    const message = Buffer.alloc(64);
    new Float32Array(message.buffer, message.byteOffset + 8, 2).set([1.5, -3]);
    const aligned = message.subarray(8, 16);
    const inputs = decodeInputs(request([{ shape: ['2'] }], [aligned]));
    const data = inputs.x!.data as Float32Array;
    assert.deepEqual([...data], [1.5, -3]);
    assert.equal(data.buffer, message.buffer, 'no copy when aligned');

    const shifted = Buffer.alloc(9);
    aligned.copy(shifted, 1);
    const copied = decodeInputs(request([{ shape: ['2'] }], [shifted.subarray(1)])).x!.data as Float32Array;
    assert.deepEqual([...copied], [1.5, -3]);
    assert.notEqual(copied.buffer, shifted.buffer);
  });

  it('reads and writes the length-prefixed BYTES layout', () => {
    const raw = encodeStrings(['', 'ab', 'ü']);
    assert.deepEqual([...raw], [0, 0, 0, 0, 2, 0, 0, 0, 97, 98, 2, 0, 0, 0, 0xc3, 0xbc]);
    const inputs = decodeInputs(request([{ datatype: 'BYTES', shape: ['3'] }], [raw]));
    assert.deepEqual(inputs.x!.data, ['', 'ab', 'ü']);
    badInput(
      () => decodeInputs(request([{ datatype: 'BYTES', shape: ['3'] }], [raw.subarray(0, 15)])),
      /needs 3/,
    );
    badInput(() => decodeInputs(request([{ datatype: 'BYTES', shape: ['2'] }], [raw])), /needs 2/);
  });

  it('checks the wire before the engine sees anything', () => {
    badInput(
      () => decodeInputs(request([{ shape: ['1'] }, { name: 'y', shape: ['1'] }], [Buffer.alloc(4)])),
      /one per input/,
    );
    const one = { shape: ['1'], contents: contents({ fp32_contents: [1] }) };
    badInput(() => decodeInputs(request([one, one])), /sent twice/);
    badInput(() => decodeInputs(request([{ shape: ['-1'] }])), /invalid dimension -1/);
    badInput(
      () =>
        decodeInputs(
          request([{ datatype: 'INT8', shape: ['1'], contents: contents({ int_contents: [200] }) }]),
        ),
      /outside the INT8 range/,
    );
    badInput(
      () =>
        decodeInputs(
          request([{ datatype: 'INT64', shape: ['1'], contents: contents({ int64_contents: ['x'] }) }]),
        ),
      /not a INT64/,
    );
    badInput(
      () => decodeInputs(request([{ shape: ['1'], contents: contents({}) }], [Buffer.alloc(4)])),
      /contents while raw_input_contents/,
    );
  });

  it('encodes typed arrays as little-endian views without copying', () => {
    const data = new BigInt64Array([1n, -1n]);
    const raw = encodeRaw({ datatype: 'INT64', shape: [2], data });
    assert.equal(raw.buffer, data.buffer);
    assert.deepEqual([...raw.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('maps every error code to a gRPC status', () => {
    assert.equal(grpcStatusOf.BAD_INPUT, status.INVALID_ARGUMENT);
    assert.equal(grpcStatusOf.NOT_FOUND, status.NOT_FOUND);
    assert.equal(grpcStatusOf.TOO_MANY_REQUESTS, status.RESOURCE_EXHAUSTED);
    assert.equal(grpcStatusOf.REQUEST_TIMEOUT, status.DEADLINE_EXCEEDED);
    assert.equal(grpcStatusOf.UNAUTHORIZED, status.UNAUTHENTICATED);
    assert.equal(grpcStatusOf.SHUTTING_DOWN, status.UNAVAILABLE);
    assert.equal(grpcStatusOf.INTERNAL, status.INTERNAL);
  });
});

function contents(
  fields: Partial<NonNullable<InferInputTensor['contents']>>,
): NonNullable<InferInputTensor['contents']> {
  return {
    bool_contents: [],
    int_contents: [],
    int64_contents: [],
    uint_contents: [],
    uint64_contents: [],
    fp32_contents: [],
    fp64_contents: [],
    bytes_contents: [],
    ...fields,
  };
}
