// Proves the Identity fixture every datatype-level test relies on: ONNX Runtime loads it for each of
// berth's datatypes, reports the signature berth expects, and echoes the input unchanged.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { datatypeInfo, tensorDatatypes } from '../core/tensor.js';
import type { TensorDatatype } from '../core/tensor.js';
import { buildIdentityModel, writeModel } from '../../test/fixtures/onnx-builder.js';
import { readOnnxSignature } from './onnx-signature.js';

/** Two values per datatype, in the typed array (or string array) onnxruntime-node expects. */
const samples: Record<TensorDatatype, ort.Tensor['data']> = {
  BOOL: Uint8Array.from([1, 0]),
  UINT8: Uint8Array.from([0, 255]),
  UINT16: Uint16Array.from([1, 65535]),
  UINT32: Uint32Array.from([1, 4294967295]),
  UINT64: BigUint64Array.from([1n, 18446744073709551615n]),
  INT8: Int8Array.from([-128, 127]),
  INT16: Int16Array.from([-32768, 32767]),
  INT32: Int32Array.from([-2147483648, 2147483647]),
  INT64: BigInt64Array.from([-9223372036854775808n, 9223372036854775807n]),
  FP16: Uint16Array.from([0x3c00, 0xc000]), // 1.0 and -2.0 as IEEE half bits
  FP32: Float32Array.from([1.5, -0.25]),
  FP64: Float64Array.from([Math.PI, -1e300]),
  BYTES: ['héllo', ''],
};

void describe('identity models', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-identity-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const datatype of tensorDatatypes) {
    void it(`loads and echoes ${datatype}`, async () => {
      const spec = { name: 'value', datatype, shape: ['batch', 2] };
      const path = writeModel(dir, `identity-${datatype}.onnx`, buildIdentityModel([spec]));
      const signature = await readOnnxSignature(path);
      assert.deepEqual(signature.inputs, [spec]);
      assert.deepEqual(signature.outputs, [{ ...spec, name: 'value_out' }]);

      const session = await ort.InferenceSession.create(path);
      try {
        const input = new ort.Tensor(datatypeInfo[datatype].onnx, samples[datatype], [1, 2]);
        const output = (await session.run({ value: input })).value_out;
        assert.equal(output?.type, datatypeInfo[datatype].onnx);
        assert.deepEqual(output?.dims, [1, 2]);
        assert.deepEqual(output?.data, samples[datatype]);
      } finally {
        await session.release();
      }
    });
  }

  void it('builds one Identity per input in one model', async () => {
    const specs = tensorDatatypes.map((datatype) => ({ name: datatype.toLowerCase(), datatype, shape: [2] }));
    const path = writeModel(dir, 'identity-all.onnx', buildIdentityModel(specs));
    const signature = await readOnnxSignature(path);
    assert.deepEqual(signature.inputs, specs);
    assert.deepEqual(
      signature.outputs.map((spec) => spec.name),
      specs.map((spec) => `${spec.name}_out`),
    );
  });
});
