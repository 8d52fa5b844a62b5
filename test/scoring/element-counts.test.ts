/**
 * A shape is the client's number: `[1e9, 3, 48, 192]` with three values once answered 500 "Invalid
 * typed array length". Every protocol (Azure JSON, v2 JSON decoded on the main thread or on a
 * worker, v2 binary, gRPC typed and raw contents) compares the count a shape implies with what the
 * body carries before allocating, and answers 400 (gRPC INVALID_ARGUMENT) naming the input and
 * both counts; a correct request afterwards gets the correct answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { startGrpcServer } from '../../src/scoring/grpc/index.js';
import { nestedValueCount } from '../../src/scoring/protocols/element-count.js';
import { nestedJsonToTensor } from '../../src/scoring/protocols/tensor-json.js';
import { bytesOf, createClient, type InferenceClient } from './grpc-harness.js';
import { identityModel } from './engine-helpers.js';
import { call, linearModel, postJson, startTestServer, tempDir, type TestServer } from './http-harness.js';

const HUGE = [1e9, 3, 48, 192];

/** `[[…[[1,1],1]…],1]`: its first items spell 2 × 2 × … (31 times), 2^31 values; it holds 32. */
function raggedBomb(): unknown {
  let data: unknown = [1, 1];
  for (let i = 0; i < 30; i++) data = [data, 1];
  return data;
}

describe('element counts are checked before anything is allocated', () => {
  const dir = tempDir('element-counts');
  let server: TestServer;
  let grpc: InferenceClient;

  before(async () => {
    server = await startTestServer(
      {
        models: [linearModel(dir.path), identityModel(dir.path)],
        grpcPort: 0,
        // On workers, so that large JSON bodies are decoded there (inferEncoded) as well.
        execution: { inline: 'never' },
      },
      { grpc: (options) => startGrpcServer(options) },
    );
    grpc = createClient(server.handle.grpcPort!);
  });
  after(async () => {
    grpc.close();
    await server.close();
    dir.remove();
  });

  const stillAnswers = async (): Promise<void> => {
    const answer = await postJson(`${server.url}/v2/models/linear/infer`, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [2, 0, 1] }],
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual((answer.json() as { outputs: { data: number[] }[] }).outputs[0]?.data, [3.25]);
  };

  const refused = async (path: string, body: unknown, message: RegExp): Promise<void> => {
    const answer = await postJson(`${server.url}${path}`, body);
    assert.equal(answer.status, 400, answer.text);
    const json = answer.json() as { error?: string; message?: string };
    assert.match(json.error ?? json.message ?? '', message);
    await stillAnswers();
  };

  it('v2 JSON, flat and nested, on the main thread', async () => {
    await refused(
      '/v2/models/linear/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: HUGE, data: [1, 2, 3] }] },
      /input "x" has 3 values but shape \[1000000000,3,48,192\] needs 27648000000000/,
    );
    await refused(
      '/v2/models/linear/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1e9, 3], data: [[1, 2, 3]] }] },
      /input "x" has 3 values but shape \[1000000000,3\] needs 3000000000/,
    );
    await refused(
      '/v2/models/identity/infer',
      { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1e12], data: ['a', 'b'] }] },
      /input "text" has 2 values but shape \[1000000000000\] needs 1000000000000/,
    );
  });

  it('v2 JSON decoded on a worker (a body over 64 KB)', async () => {
    const data = Array.from({ length: 40_000 }, (_, i) => i % 7);
    assert.ok(JSON.stringify(data).length > 64 * 1024);
    await refused(
      '/v2/models/linear/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: HUGE, data }] },
      /input "x" has 40000 values but shape \[1000000000,3,48,192\] needs 27648000000000/,
    );
  });

  it('v2 binary tensors, fixed-size and BYTES', async () => {
    const binary = async (model: string, input: Record<string, unknown>, bytes: Buffer, message: RegExp) => {
      const header = Buffer.from(JSON.stringify({ inputs: [input] }));
      const answer = await call(`${server.url}/v2/models/${model}/infer`, {
        body: Buffer.concat([header, bytes]),
        headers: {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': String(header.length),
        },
      });
      assert.equal(answer.status, 400, answer.text);
      assert.match((answer.json() as { error: string }).error, message);
      await stillAnswers();
    };
    await binary(
      'linear',
      { name: 'x', datatype: 'FP32', shape: HUGE, parameters: { binary_data_size: 12 } },
      bytesOf(new Float32Array([1, 2, 3])),
      /input "x": binary_data_size is 12 bytes but shape \[1000000000,3,48,192\] of FP32 needs 110592000000000/,
    );
    await binary(
      'identity',
      { name: 'text', datatype: 'BYTES', shape: [1e9], parameters: { binary_data_size: 9 } },
      Buffer.from([4, 0, 0, 0, 0x61, 0x62, 0x63, 0x64, 0]),
      /input "text": shape \[1000000000\] needs 1000000000 BYTES elements but its 9 bytes of binary data hold at most 2/,
    );
  });

  it('Azure /score: a ragged array whose first items spell a huge shape', async () => {
    await refused(
      '/score',
      { data: raggedBomb() },
      /input "x" is ragged: its first items spell shape \[2(,2){30}\] \(2147483648 values\) but it holds 32/,
    );
  });

  it('gRPC raw and typed contents: INVALID_ARGUMENT naming the counts', async () => {
    const rejects = async (request: Record<string, unknown>, message: RegExp): Promise<void> => {
      const error = await grpc.call('ModelInfer', request).then(
        () => assert.fail('expected INVALID_ARGUMENT'),
        (caught: unknown) => caught as ServiceError,
      );
      assert.equal(error.code, grpcStatus.INVALID_ARGUMENT, error.details);
      assert.match(error.details, message);
    };
    await rejects(
      {
        model_name: 'linear',
        inputs: [{ name: 'x', datatype: 'FP32', shape: HUGE }],
        raw_input_contents: [bytesOf(new Float32Array([1, 2, 3]))],
      },
      /input 'x' raw contents are 12 bytes but 27648000000000 FP32 elements need 110592000000000/,
    );
    await rejects(
      {
        model_name: 'linear',
        inputs: [{ name: 'x', datatype: 'FP32', shape: HUGE, contents: { fp32_contents: [1, 2, 3] } }],
      },
      /input 'x' has 3 values in contents.fp32_contents but its FP32 shape needs 27648000000000/,
    );
    const answer = await grpc.call('ModelInfer', {
      model_name: 'linear',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [2, 0, 1] } }],
    });
    const raw = Buffer.from((answer.raw_output_contents as Buffer[])[0]!);
    assert.deepEqual([...new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)], [3.25]);
  });

  it('counts nested values per array, not per value, and never past what exists', () => {
    assert.equal(
      nestedValueCount('x', [
        [1, 2, 3],
        [4, 5, 6],
      ]),
      6,
    );
    assert.equal(
      nestedValueCount('x', [
        [[1], [2]],
        [[3], [4]],
      ]),
      4,
    );
    assert.equal(nestedValueCount('x', [[], [[1, 2]], [[]]]), 2);
    assert.equal(nestedValueCount('x', raggedBomb() as unknown[]), 32);
    let deep: unknown = [1];
    for (let i = 0; i < 40; i++) deep = [deep];
    assert.throws(() => nestedValueCount('x', deep as unknown[]), /nested deeper than 32 levels/);
    assert.throws(() => nestedJsonToTensor('x', 'FP32', raggedBomb()), /ragged/);
  });
});
