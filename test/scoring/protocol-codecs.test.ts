/** Pure unit tests of the HTTP protocol codecs: no engine, no sockets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { decodeScoreBody, encodeScoreResponse } from '../../src/scoring/protocols/azure.js';
import { fromHalfBits, toHalfBits } from '../../src/scoring/protocols/fp16.js';
import {
  flatJsonText,
  jsonToTensorData,
  nestedJsonText,
  nestedJsonToTensor,
} from '../../src/scoring/protocols/tensor-json.js';
import { decodeBinaryTensor, encodeBinaryTensor } from '../../src/scoring/protocols/v2-binary.js';
import { decodeInferRequest, encodeInferResponse } from '../../src/scoring/protocols/v2-json.js';

const badInput = (error: unknown) => hasErrorCode(error, 'BAD_INPUT');

describe('fp16', () => {
  it('converts exactly representable values both ways and rounds to nearest even', () => {
    for (const value of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8])
      assert.equal(fromHalfBits(toHalfBits(value)), value);
    assert.equal(toHalfBits(1), 0x3c00);
    assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00);
    assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02);
    assert.equal(toHalfBits(1e6), 0x7c00);
  });
});

describe('tensor JSON', () => {
  it('reads flat and nested data for every datatype', () => {
    assert.deepEqual(
      jsonToTensorData(
        'x',
        'FP32',
        [2, 2],
        [
          [1, 2],
          [3, 4],
        ],
      ),
      new Float32Array([1, 2, 3, 4]),
    );
    assert.deepEqual(
      jsonToTensorData('x', 'INT64', [2], [-(2 ** 53), 7]),
      new BigInt64Array([-(2n ** 53n), 7n]),
    );
    assert.deepEqual(jsonToTensorData('x', 'UINT8', [3], [0, 128, 255]), new Uint8Array([0, 128, 255]));
    assert.deepEqual(jsonToTensorData('x', 'BOOL', [2], [true, false]), new Uint8Array([1, 0]));
    assert.deepEqual(jsonToTensorData('x', 'FP16', [1], [1.5]), new Uint16Array([0x3e00]));
    assert.deepEqual(jsonToTensorData('x', 'BYTES', [2], ['a', 'é']), ['a', 'é']);
  });

  it('names the bad element', () => {
    assert.throws(
      () => jsonToTensorData('x', 'INT8', [2], [1, 300]),
      (e: Error) => badInput(e) && /element 1 is 300/.test(e.message),
    );
    assert.throws(() => jsonToTensorData('x', 'INT32', [1], [1.5]), badInput);
    assert.throws(() => jsonToTensorData('x', 'BOOL', [1], [1]), badInput);
    assert.throws(() => jsonToTensorData('x', 'FP16', [1], [70000]), badInput);
    assert.throws(() => jsonToTensorData('x', 'FP32', [3], [1, 2]), /2 values but shape \[3\] needs 3/);
    assert.throws(() => jsonToTensorData('x', 'FP32', [1], [1, 2]), /2 values but shape \[1\] needs 1/);
    assert.throws(() => jsonToTensorData('x', 'FP32', [1], 'abc'), /must be an array/);
  });

  it('infers shapes from nesting and writes nested and flat text', () => {
    const value = nestedJsonToTensor('x', 'FP64', [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(value.shape, [2, 3]);
    assert.equal(nestedJsonText(value), '[[1,2,3],[4,5,6]]');
    assert.equal(flatJsonText(value), '[1,2,3,4,5,6]');
    assert.throws(() => nestedJsonToTensor('x', 'FP64', [[1, 2], [3]]), /ragged/);
    assert.throws(() => nestedJsonToTensor('x', 'FP64', [[1, 2], 3]), /ragged/);
    assert.equal(
      flatJsonText({ datatype: 'FP32', shape: [2], data: new Float32Array([NaN, 1]) }),
      '[null,1]',
    );
    assert.equal(
      flatJsonText({ datatype: 'UINT64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) }),
      '[18446744073709551615]',
    );
    assert.equal(nestedJsonText({ datatype: 'BOOL', shape: [], data: new Uint8Array([1]) }), 'true');
  });
});

describe('binary tensor data', () => {
  it('views aligned bytes in place and copies unaligned ones', () => {
    const memory = Buffer.from(new ArrayBuffer(20));
    new Float32Array(memory.buffer, 4, 2).set([1.5, -2]);
    const aligned = decodeBinaryTensor('x', 'FP32', [2], memory.subarray(4, 12));
    assert.equal((aligned as Float32Array).buffer, memory.buffer, 'zero-copy');
    assert.deepEqual(aligned, new Float32Array([1.5, -2]));
    const shifted = Buffer.from(new ArrayBuffer(20));
    memory.copy(shifted, 1, 4, 12);
    const copied = decodeBinaryTensor('x', 'FP32', [2], shifted.subarray(1, 9));
    assert.notEqual((copied as Float32Array).buffer, shifted.buffer);
    assert.deepEqual(copied, new Float32Array([1.5, -2]));
    assert.throws(() => decodeBinaryTensor('x', 'FP32', [3], memory.subarray(4, 12)), /needs 12/);
  });

  it('round-trips BYTES with length prefixes', () => {
    const bytes = encodeBinaryTensor({ datatype: 'BYTES', shape: [2], data: ['hi', ''] });
    assert.deepEqual(Buffer.from(bytes), Buffer.from([2, 0, 0, 0, 104, 105, 0, 0, 0, 0]));
    assert.deepEqual(decodeBinaryTensor('s', 'BYTES', [2], Buffer.from(bytes)), ['hi', '']);
    assert.throws(() => decodeBinaryTensor('s', 'BYTES', [3], Buffer.from(bytes)), badInput);
  });

  it('decodes a mixed request and encodes binary outputs on request', () => {
    const binary = Buffer.from(new Int32Array([7, 8]).buffer);
    const request = decodeInferRequest(
      {
        id: 'q',
        inputs: [
          { name: 'a', shape: [2], datatype: 'INT32', parameters: { binary_data_size: 8 } },
          { name: 'b', shape: [1], datatype: 'FP64', data: [0.5] },
        ],
        outputs: [{ name: 'o', parameters: { binary_data: true } }, { name: 'p' }],
      },
      binary,
    );
    assert.deepEqual(request.inputs.a?.data, new Int32Array([7, 8]));
    const encoded = encodeInferResponse(
      'm',
      '1',
      request.id,
      {
        o: { datatype: 'INT32', shape: [2], data: new Int32Array([1, 2]) },
        p: { datatype: 'FP64', shape: [1], data: new Float64Array([3]) },
      },
      request,
    );
    assert.equal(
      encoded.json,
      '{"model_name":"m","model_version":"1","id":"q","outputs":[{"name":"o","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"p","datatype":"FP64","shape":[1],"data":[3]}]}',
    );
    assert.deepEqual(Buffer.from(encoded.binary[0]!), Buffer.from(new Int32Array([1, 2]).buffer));
    assert.throws(
      () =>
        decodeInferRequest(
          { inputs: [{ name: 'a', shape: [2], datatype: 'INT32', parameters: { binary_data_size: 8 } }] },
          undefined,
        ),
      badInput,
    );
    assert.throws(
      () =>
        decodeInferRequest(
          {
            inputs: [
              { name: 'a', shape: [1], datatype: 'INT32', data: [1] },
              { name: 'a', shape: [1], datatype: 'INT32', data: [1] },
            ],
          },
          undefined,
        ),
      /twice/,
    );
  });
});

describe('azure /score body', () => {
  const signature = {
    inputs: [{ name: 'x', datatype: 'INT64' as const, shape: ['batch', 2] }],
    outputs: [{ name: 'y', datatype: 'FP32' as const, shape: ['batch'] }],
    opset: 13,
    producer: undefined,
  };
  it('takes the datatype from the signature and checks the shape', () => {
    const inputs = decodeScoreBody({ data: [[1, 2]] }, signature);
    assert.deepEqual(inputs.x, { datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([1n, 2n]) });
    assert.throws(() => decodeScoreBody({ data: [1, 2] }, signature), /expected \[-1,2\]/);
    assert.equal(
      encodeScoreResponse({ y: { datatype: 'FP32', shape: [2], data: new Float32Array([1, 2]) } }),
      '[1,2]',
    );
  });
});
