import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { hasErrorCode } from '../core/errors.js';
import { buildIdentityModel, buildModel, writeModel } from '../../test/fixtures/onnx-builder.js';
import { exampleModelsDir, ppocrClassifierPath } from '../../test/fixtures/paths.js';
import { readOnnxSignature } from './onnx-signature.js';

void describe('readOnnxSignature', () => {
  void it('reads the linear example: names, FP32, the named batch dim, opset and producer', async () => {
    const signature = await readOnnxSignature(join(exampleModelsDir, 'linear.onnx'));
    assert.deepEqual(signature, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['batch', 1] }],
      opset: 13,
      producer: 'berth 0.1.0',
    });
  });

  void it('reads the MLP example', async () => {
    const signature = await readOnnxSignature(join(exampleModelsDir, 'mlp.onnx'));
    assert.deepEqual(signature, {
      inputs: [{ name: 'features', datatype: 'FP32', shape: ['batch', 4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: ['batch', 2] }],
      opset: 13,
      producer: 'berth 0.1.0',
    });
  });

  void it('reads the real PP-OCR classifier with its dynamic dims named as in the file', async () => {
    const signature = await readOnnxSignature(ppocrClassifierPath);
    assert.deepEqual(signature, {
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'],
        },
      ],
      outputs: [{ name: 'softmax_0.tmp_0', datatype: 'FP32', shape: ['p2o.DynamicDimension.3', 2] }],
      opset: 9,
      // paddle2onnx left producer_name empty in this file.
      producer: undefined,
    });
  });

  void describe('on built files', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'berth-signature-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    void it("names an unnamed dynamic dim '?' and keeps a custom producer and opset", async () => {
      const path = writeModel(
        dir,
        'unnamed.onnx',
        buildModel({
          name: 'unnamed',
          inputs: [{ name: 'v', datatype: 'INT64', shape: ['?', 5] }],
          outputs: [{ name: 'w', datatype: 'INT64', shape: ['?', 5] }],
          nodes: [{ opType: 'Identity', inputs: ['v'], outputs: ['w'] }],
          opset: 17,
          producer: { name: 'pytorch', version: '2.3.0' },
        }),
      );
      assert.deepEqual(await readOnnxSignature(path), {
        inputs: [{ name: 'v', datatype: 'INT64', shape: ['?', 5] }],
        outputs: [{ name: 'w', datatype: 'INT64', shape: ['?', 5] }],
        opset: 17,
        producer: 'pytorch 2.3.0',
      });
    });

    void it('rejects a type berth cannot carry, naming it', async () => {
      const model = onnxProto.onnx.ModelProto.decode(
        buildIdentityModel([{ name: 'v', datatype: 'FP32', shape: [2] }]),
      );
      const bfloat16 = onnxProto.onnx.TensorProto.DataType.BFLOAT16;
      const graph = model.graph!;
      for (const info of [...(graph.input ?? []), ...(graph.output ?? [])])
        info.type!.tensorType!.elemType = bfloat16;
      const path = writeModel(dir, 'bfloat16.onnx', onnxProto.onnx.ModelProto.encode(model).finish());
      await assert.rejects(readOnnxSignature(path), (error) => {
        assert.ok(hasErrorCode(error, 'INVALID_MODEL'));
        assert.match(error.message, /tensor type bfloat16, which berth cannot carry/);
        return true;
      });
    });

    void it('rejects a model whose input is not a tensor', async () => {
      const model = onnxProto.onnx.ModelProto.decode(
        buildIdentityModel([{ name: 'v', datatype: 'FP32', shape: [2] }]),
      );
      // Identity takes sequences from opset 14 on.
      model.opsetImport = [{ domain: '', version: 14 }];
      const graph = model.graph!;
      const sequence = { sequenceType: { elemType: { tensorType: { elemType: 1 } } } };
      for (const info of [...(graph.input ?? []), ...(graph.output ?? [])]) info.type = sequence;
      const path = writeModel(dir, 'sequence.onnx', onnxProto.onnx.ModelProto.encode(model).finish());
      await assert.rejects(readOnnxSignature(path), (error) => {
        assert.ok(hasErrorCode(error, 'INVALID_MODEL'));
        assert.match(error.message, /input 'v' is not a tensor/);
        return true;
      });
    });

    const invalidFiles: [string, () => Promise<Uint8Array>, RegExp][] = [
      ['an empty file', async () => new Uint8Array(), /the file is empty/],
      [
        'random bytes',
        async () => Uint8Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256),
        /Protobuf parsing failed/i,
      ],
      [
        'a text file renamed .onnx',
        async () => new TextEncoder().encode('name,score\nada,0.9\n'),
        /Protobuf parsing failed/i,
      ],
      [
        'a truncated copy of the real model',
        async () => (await readFile(ppocrClassifierPath)).subarray(0, 300_000),
        /Protobuf parsing failed/i,
      ],
      [
        'a graph with an unknown operator',
        async () =>
          buildModel({
            name: 'unknown-op',
            inputs: [{ name: 'q', datatype: 'FP32', shape: [1] }],
            outputs: [{ name: 'r', datatype: 'FP32', shape: [1] }],
            nodes: [{ opType: 'NoSuchOp', inputs: ['q'], outputs: ['r'] }],
          }),
        /No Op registered for NoSuchOp/,
      ],
    ];
    for (const [label, bytes, reason] of invalidFiles) {
      void it(`rejects ${label} as INVALID_MODEL with ONNX Runtime's reason on one line`, async () => {
        const path = join(dir, `${label.replaceAll(' ', '-')}.onnx`);
        await writeFile(path, await bytes());
        await assert.rejects(readOnnxSignature(path), (error) => {
          assert.ok(hasErrorCode(error, 'INVALID_MODEL'));
          assert.ok(error.message.startsWith(`${path} is not a valid ONNX model: `), error.message);
          assert.match(error.message, reason);
          assert.doesNotMatch(error.message, /\n|Load model from|\.cc:\d+/);
          return true;
        });
      });
    }

    void it('rejects a missing path as PATH_NOT_FOUND and a folder as INVALID_MODEL', async () => {
      await assert.rejects(readOnnxSignature(join(dir, 'missing.onnx')), (error) =>
        hasErrorCode(error, 'PATH_NOT_FOUND'),
      );
      await assert.rejects(readOnnxSignature(dir), (error) => hasErrorCode(error, 'INVALID_MODEL'));
    });
  });
});
