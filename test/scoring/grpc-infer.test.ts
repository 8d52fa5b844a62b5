import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { InferenceEngine } from '../../src/scoring/engine.js';
import { ERROR_CODE_TRAILER } from '../../src/scoring/grpc/index.js';
import { countingAdmission, startEngine } from './grpc-engine.js';
import {
  bytesOf,
  lengthPrefixed,
  rejects,
  startOnLoopback,
  type Message,
  type Running,
} from './grpc-harness.js';
import { writeTestModels } from './grpc-models.js';

function rawOf(response: Message, index: number): Buffer {
  const raw = (response.raw_output_contents as Buffer[])[index];
  assert.ok(raw, `raw_output_contents[${index}]`);
  return Buffer.from(raw); // an aligned copy, so typed arrays can view it
}

function float32s(raw: Buffer): number[] {
  return [...new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)];
}

function outputNamed(response: Message, name: string): { index: number; datatype: string; shape: string[] } {
  const outputs = response.outputs as { name: string; datatype: string; shape: string[] }[];
  const index = outputs.findIndex((output) => output.name === name);
  assert.notEqual(index, -1, `output ${name}`);
  return { index, datatype: outputs[index]!.datatype, shape: outputs[index]!.shape };
}

describe('gRPC front end over loopback', () => {
  let dir = '';
  let engine: InferenceEngine;
  let admission: ReturnType<typeof countingAdmission>;
  let running: Running;

  before(async () => {
    const written = await writeTestModels();
    dir = written.dir;
    engine = await startEngine(written.models);
    admission = countingAdmission();
    running = await startOnLoopback({ engine, admission, requestTimeoutMs: 5_000 });
  });

  after(async () => {
    await running.stop();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers liveness, readiness and metadata', async () => {
    const { client } = running;
    assert.deepEqual(await client.call('ServerLive', {}), { live: true });
    assert.deepEqual(await client.call('ServerReady', {}), { ready: true });
    assert.deepEqual(await client.call('ModelReady', { name: 'linear' }), { ready: true });
    assert.deepEqual(await client.call('ModelReady', { name: 'linear', version: '7' }), { ready: false });
    assert.deepEqual(await client.call('ModelReady', { name: 'nope' }), { ready: false });
    const server = await client.call('ServerMetadata', {});
    assert.equal(server.name, 'berth');
    assert.match(server.version as string, /^\d+\.\d+\.\d+/);
    const model = await client.call('ModelMetadata', { name: 'linear' });
    assert.deepEqual(model, {
      name: 'linear',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '3'] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['-1', '1'] }],
    });
    await rejects(client.call('ModelMetadata', { name: 'nope' }), status.NOT_FOUND, /nope/);
  });

  it('scores typed FP32 contents and answers in raw_output_contents', async () => {
    const before = admission.acquired;
    const response = await running.client.call('ModelInfer', {
      model_name: 'linear',
      id: 'req-1',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: [1, 2, 3, 0, 0, 0] } },
      ],
    });
    assert.equal(response.model_name, 'linear');
    assert.equal(response.model_version, '1');
    assert.equal(response.id, 'req-1');
    assert.deepEqual(outputNamed(response, 'y'), { index: 0, datatype: 'FP32', shape: ['2', '1'] });
    assert.deepEqual(float32s(rawOf(response, 0)), [4.75, 0.25]);
    assert.equal(admission.acquired, before + 1, 'every ModelInfer goes through admission');
    assert.equal(admission.inFlight, 0);
  });

  it('scores raw FP32 contents', async () => {
    const response = await running.client.call('ModelInfer', {
      model_name: 'linear',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }],
      raw_input_contents: [bytesOf(new Float32Array([2, 0, 1]))],
    });
    assert.deepEqual(float32s(rawOf(response, 0)), [3.25]);
  });

  const n = 2;
  const big = '9007199254740993'; // 2^53 + 1: not representable as a JS number
  const expected = {
    i64: [BigInt(big), -5n],
    u64: [18446744073709551615n, 0n],
    b: [1, 0],
    s: ['hello', 'wörld ✓'],
    f32: [1.5, -2.25],
    f64: [Math.PI, -1e300],
    i8: [-128, 127],
  };

  function checkIdentity(response: Message, names: string[]): void {
    for (const name of names) {
      const { index, datatype, shape } = outputNamed(response, `${name}_out`);
      assert.deepEqual(shape, [String(n)], name);
      const raw = rawOf(response, index);
      const view = (
        Type: { new (b: ArrayBufferLike, o: number, l: number): ArrayLike<unknown> },
        width: number,
      ) => [...Array.from(new Type(raw.buffer, raw.byteOffset, raw.byteLength / width))];
      switch (datatype) {
        case 'INT64':
          assert.deepEqual(view(BigInt64Array, 8), expected.i64);
          break;
        case 'UINT64':
          assert.deepEqual(view(BigUint64Array, 8), expected.u64);
          break;
        case 'BOOL':
          assert.deepEqual(view(Uint8Array, 1), expected.b);
          break;
        case 'BYTES':
          assert.deepEqual(raw, lengthPrefixed(expected.s));
          break;
        case 'FP32':
          assert.deepEqual(view(Float32Array, 4), expected.f32);
          break;
        case 'FP64':
          assert.deepEqual(view(Float64Array, 8), expected.f64);
          break;
        case 'INT8':
          assert.deepEqual(view(Int8Array, 1), expected.i8);
          break;
        case 'FP16':
          assert.deepEqual(view(Uint16Array, 2), [0x3c00, 0xc000]); // 1.0, -2.0
          break;
        default:
          assert.fail(`unexpected ${datatype}`);
      }
    }
  }

  it('carries every datatype in typed contents, INT64 beyond 2^53 exactly', async () => {
    const response = await running.client.call('ModelInfer', {
      model_name: 'identity',
      inputs: [
        { name: 'f32', datatype: 'FP32', shape: [n], contents: { fp32_contents: expected.f32 } },
        { name: 'f64', datatype: 'FP64', shape: [n], contents: { fp64_contents: expected.f64 } },
        { name: 'i8', datatype: 'INT8', shape: [n], contents: { int_contents: expected.i8 } },
        { name: 'i64', datatype: 'INT64', shape: [n], contents: { int64_contents: [big, '-5'] } },
        {
          name: 'u64',
          datatype: 'UINT64',
          shape: [n],
          contents: { uint64_contents: ['18446744073709551615', '0'] },
        },
        { name: 'b', datatype: 'BOOL', shape: [n], contents: { bool_contents: [true, false] } },
        {
          name: 's',
          datatype: 'BYTES',
          shape: [n],
          contents: { bytes_contents: expected.s.map((t) => Buffer.from(t)) },
        },
      ],
    });
    checkIdentity(response, ['f32', 'f64', 'i8', 'i64', 'u64', 'b', 's']);
  });

  it('carries every datatype in raw contents, FP16 included', async () => {
    const response = await running.client.call('ModelInfer', {
      model_name: 'identity',
      inputs: [
        { name: 'f32', datatype: 'FP32', shape: [n] },
        { name: 'f64', datatype: 'FP64', shape: [n] },
        { name: 'i8', datatype: 'INT8', shape: [n] },
        { name: 'i64', datatype: 'INT64', shape: [n] },
        { name: 'u64', datatype: 'UINT64', shape: [n] },
        { name: 'b', datatype: 'BOOL', shape: [n] },
        { name: 's', datatype: 'BYTES', shape: [n] },
      ],
      raw_input_contents: [
        bytesOf(new Float32Array(expected.f32)),
        bytesOf(new Float64Array(expected.f64)),
        bytesOf(new Int8Array(expected.i8)),
        bytesOf(new BigInt64Array(expected.i64)),
        bytesOf(new BigUint64Array(expected.u64)),
        bytesOf(new Uint8Array(expected.b)),
        lengthPrefixed(expected.s),
      ],
    });
    checkIdentity(response, ['f32', 'f64', 'i8', 'i64', 'u64', 'b', 's']);
    const half = await running.client.call('ModelInfer', {
      model_name: 'half',
      inputs: [{ name: 'f16', datatype: 'FP16', shape: [n] }],
      raw_input_contents: [bytesOf(new Uint16Array([0x3c00, 0xc000]))],
    });
    checkIdentity(half, ['f16']);
  });

  it('returns only the requested outputs, in the requested order', async () => {
    const response = await running.client.call('ModelInfer', {
      model_name: 'half',
      inputs: [{ name: 'f16', datatype: 'FP16', shape: [1] }],
      outputs: [{ name: 'f16_out' }],
      raw_input_contents: [bytesOf(new Uint16Array([0x3c00]))],
    });
    assert.equal((response.outputs as unknown[]).length, 1);
    assert.equal((response.raw_output_contents as unknown[]).length, 1);
  });

  it('refuses bad input with INVALID_ARGUMENT and says what was expected', async () => {
    const { client } = running;
    const wrongShape = await rejects(
      client.call('ModelInfer', {
        model_name: 'linear',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: new Array(8).fill(1) } },
        ],
      }),
      status.INVALID_ARGUMENT,
      /shape \[2,4\], expected \[-1,3\]/,
    );
    assert.deepEqual(wrongShape.metadata.get(ERROR_CODE_TRAILER), ['BAD_INPUT']);
    await rejects(
      client.call('ModelInfer', {
        model_name: 'linear',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: [1, 2, 3] } }],
      }),
      status.INVALID_ARGUMENT,
      /3 values .* needs 6/,
    );
    await rejects(
      client.call('ModelInfer', {
        model_name: 'linear',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }],
        raw_input_contents: [Buffer.alloc(11)],
      }),
      status.INVALID_ARGUMENT,
      /11 bytes but 3 FP32 elements need 12/,
    );
    await rejects(
      client.call('ModelInfer', {
        model_name: 'half',
        inputs: [{ name: 'f16', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }],
      }),
      status.INVALID_ARGUMENT,
      /raw_input_contents/,
    );
    await rejects(
      client.call('ModelInfer', {
        model_name: 'linear',
        inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1, 3] }],
      }),
      status.INVALID_ARGUMENT,
      /unknown datatype 'FLOAT'/,
    );
    assert.equal(admission.inFlight, 0);
  });

  it('answers NOT_FOUND for an unknown model', async () => {
    const error = await rejects(
      running.client.call('ModelInfer', {
        model_name: 'missing',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
      }),
      status.NOT_FOUND,
      /missing/,
    );
    assert.deepEqual(error.metadata.get(ERROR_CODE_TRAILER), ['NOT_FOUND']);
  });
});
