/**
 * Triton's gRPC extensions against a client built from Triton's published grpc_service.proto
 * (test/scoring/grpc-triton, unmodified): model configuration, statistics, the model repository
 * and streaming inference, each compared with what the HTTP routes of the same server answer,
 * errors included. The server is the whole scoring server (real engine, both front ends).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { BerthError } from '../../src/core/errors.js';
import type { ModelRepository, ModelToServe } from '../../src/scoring/engine.js';
import { ERROR_CODE_TRAILER, startGrpcServer } from '../../src/scoring/grpc/index.js';
import {
  asPublishedResponse,
  createTritonClient,
  firstFloat,
  GARBAGE,
  linearRequest,
  rejects,
  type InferenceClient,
  type Message,
} from './grpc-harness.js';
import { addModel, call, linearModel, startTestServer, tempDir, type TestServer } from './http-harness.js';

/** A repository of two models: linear (served from the start) and add (loaded on request). */
function fixedRepository(models: Record<string, ModelToServe>): ModelRepository {
  return {
    index: async () => [
      { name: 'linear', version: '1', state: 'READY', reason: '' },
      { name: 'add', version: '1', state: 'UNAVAILABLE', reason: 'not loaded' },
    ],
    resolve: async (name) => {
      const model = models[name];
      if (model === undefined) throw new BerthError('NOT_FOUND', `the repository has no model "${name}"`);
      return model;
    },
  };
}

/** The proto3 defaults a decoded ModelInput carries for the fields berth does not fill. */
const inputDefaults = {
  reshape: null,
  is_shape_tensor: false,
  allow_ragged_batch: false,
  optional: false,
  is_non_linear_format_io: false,
};

async function getJson(url: string, method = 'GET'): Promise<object> {
  const answer = await call(url, { method });
  assert.equal(answer.status, 200, answer.text);
  return answer.json() as object;
}

describe("Triton's extensions over gRPC, to a client built from the published proto", () => {
  const dir = tempDir('grpc-triton');
  let server: TestServer;
  let client: InferenceClient;

  before(async () => {
    const linear = linearModel(dir.path, '1');
    const add = addModel(dir.path);
    server = await startTestServer(
      { models: [linear], grpcPort: 0, batching: { enabled: true, maxBatchSize: 4 } },
      { grpc: startGrpcServer, repository: fixedRepository({ linear, add }) },
    );
    client = createTritonClient(server.handle.grpcPort!);
  });

  after(async () => {
    client.close();
    await server.close();
    dir.remove();
  });

  it('answers the core RPCs as the HTTP routes do', async () => {
    assert.deepEqual(await client.call('ServerLive', {}), { live: true });
    assert.deepEqual(await client.call('ServerReady', {}), { ready: true });
    assert.deepEqual(await client.call('ModelReady', { name: 'linear' }), { ready: true });
    const rest = (await getJson(`${server.url}/v2`)) as { name: string; extensions: string[] };
    const metadata = await client.call('ServerMetadata', {});
    assert.equal(metadata.name, rest.name);
    assert.deepEqual(metadata.extensions, rest.extensions);
    assert.ok(rest.extensions.includes('model_repository'));
    assert.deepEqual(
      await client.call('ModelMetadata', { name: 'linear' }),
      asPublishedResponse('ModelMetadata', await getJson(`${server.url}/v2/models/linear`)),
    );
    const response = await client.call('ModelInfer', linearRequest('core'));
    assert.equal(response.id, 'core');
    assert.equal(firstFloat(response), 4.75);
  });

  it('answers ModelConfig with the HTTP configuration document', async () => {
    const config = await client.call('ModelConfig', { name: 'linear' });
    const rest = await getJson(`${server.url}/v2/models/linear/config`);
    assert.deepEqual(config, asPublishedResponse('ModelConfig', { config: rest }));
    const document = config.config as Record<string, unknown>;
    assert.equal(document.platform, 'onnxruntime_onnx');
    assert.equal(document.max_batch_size, 4);
    assert.deepEqual(document.input, [
      { name: 'x', data_type: 'TYPE_FP32', dims: ['3'], format: 'FORMAT_NONE', ...inputDefaults },
    ]);
    assert.deepEqual((document.version_policy as Message).specific, { versions: ['1'] });
    assert.equal(document.scheduling_choice, 'dynamic_batching');
    assert.deepEqual(
      (document.dynamic_batching as Message).max_queue_delay_microseconds,
      '2000',
      'the server batches with a 2 ms delay',
    );
    assert.deepEqual(await client.call('ModelConfig', { name: 'linear', version: '1' }), config);
  });

  it('refuses a bad ModelConfig request as the HTTP route does', async () => {
    const unknown = await rejects(
      client.call('ModelConfig', { name: 'nope' }),
      status.NOT_FOUND,
      /unknown model "nope"/,
    );
    assert.deepEqual(unknown.metadata.get(ERROR_CODE_TRAILER), ['NOT_FOUND']);
    const rest = await call(`${server.url}/v2/models/nope/config`);
    assert.equal(rest.status, 404);
    assert.equal((rest.json() as { error: string }).error, unknown.details);
    await rejects(
      client.call('ModelConfig', { name: 'linear', version: '9' }),
      status.NOT_FOUND,
      /has no version "9" \(loaded: 1\)/,
    );
    await rejects(client.call('ModelConfig', {}), status.INVALID_ARGUMENT, /"name" is empty/);
    await rejects(
      client.call('ModelConfig', GARBAGE),
      status.INVALID_ARGUMENT,
      /not a valid ModelConfigRequest message/,
    );
  });

  it('answers ModelStatistics with the HTTP statistics document', async () => {
    await client.call('ModelInfer', linearRequest('stats-1'));
    await client.call('ModelInfer', linearRequest('stats-2'));
    const one = await client.call('ModelStatistics', { name: 'linear' });
    assert.deepEqual(
      one,
      asPublishedResponse('ModelStatistics', await getJson(`${server.url}/v2/models/linear/stats`)),
    );
    const [linear] = one.model_stats as Message[];
    assert.ok(linear);
    assert.equal(linear.name, 'linear');
    assert.ok(Number(linear.inference_count) >= 2, `inference_count ${String(linear.inference_count)}`);
    const success = (linear.inference_stats as Record<string, Message>).success!;
    assert.ok(Number(success.count) >= 2 && Number(success.ns) > 0);
    assert.deepEqual(
      await client.call('ModelStatistics', {}),
      asPublishedResponse('ModelStatistics', await getJson(`${server.url}/v2/models/stats`)),
    );
    assert.deepEqual(await client.call('ModelStatistics', { name: 'linear', version: '1' }), one);
    await rejects(client.call('ModelStatistics', { name: 'nope' }), status.NOT_FOUND, /unknown model "nope"/);
    await rejects(client.call('ModelStatistics', { version: '1' }), status.INVALID_ARGUMENT, /no model name/);
  });

  it('lists, loads and unloads models as the HTTP repository routes do', async () => {
    const index = await client.call('RepositoryIndex', {});
    const rest = await getJson(`${server.url}/v2/repository/index`, 'POST');
    assert.deepEqual(index, asPublishedResponse('RepositoryIndex', { models: rest }));
    assert.deepEqual((await client.call('RepositoryIndex', { ready: true })).models, [
      { name: 'linear', version: '1', state: 'READY', reason: '' },
    ]);
    await rejects(
      client.call('RepositoryIndex', { repository_name: 'models' }),
      status.NOT_FOUND,
      /one model repository, which has no name/,
    );

    const addRequest = {
      model_name: 'add',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } },
        { name: 'b', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [10, 20] } },
      ],
    };
    await rejects(client.call('ModelInfer', addRequest), status.NOT_FOUND, /unknown model "add"/);
    assert.deepEqual(await client.call('RepositoryModelLoad', { model_name: 'add' }), {});
    assert.deepEqual(await client.call('ModelReady', { name: 'add' }), { ready: true });
    const sum = await client.call('ModelInfer', addRequest);
    const raw = Buffer.from((sum.raw_output_contents as Buffer[])[0]!);
    assert.deepEqual([raw.readFloatLE(0), raw.readFloatLE(4)], [11, 22]);

    assert.deepEqual(
      await client.call('RepositoryModelUnload', {
        model_name: 'add',
        parameters: { unload_dependents: { bool_param: false } },
      }),
      {},
    );
    assert.deepEqual(await client.call('ModelReady', { name: 'add' }), { ready: false });
    await rejects(client.call('ModelInfer', addRequest), status.NOT_FOUND, /unknown model "add"/);
    assert.equal((await call(`${server.url}/v2/models/add`)).status, 404);
  });

  it('refuses repository requests it cannot honour, with the HTTP routes’ statuses', async () => {
    await rejects(
      client.call('RepositoryModelLoad', { model_name: 'ghost' }),
      status.NOT_FOUND,
      /no model "ghost"/,
    );
    assert.equal(
      (await call(`${server.url}/v2/repository/models/ghost/load`, { method: 'POST' })).status,
      404,
    );
    await rejects(
      client.call('RepositoryModelLoad', {
        model_name: 'add',
        parameters: { config: { string_param: '{"max_batch_size": 8}' } },
      }),
      status.INVALID_ARGUMENT,
      /"config" \(a configuration override\) is not supported/,
    );
    await rejects(
      client.call('RepositoryModelLoad', {
        model_name: 'add',
        parameters: { 'file:1/model.onnx': { bytes_param: Buffer.from('onnx') } },
      }),
      status.INVALID_ARGUMENT,
      /model files sent with the request/,
    );
    assert.deepEqual(
      await client.call('ModelReady', { name: 'add' }),
      { ready: false },
      'nothing was loaded',
    );
    await rejects(client.call('RepositoryModelLoad', {}), status.INVALID_ARGUMENT, /model_name is required/);
    await rejects(
      client.call('RepositoryModelUnload', { model_name: 'add' }),
      status.NOT_FOUND,
      /unknown model "add"/,
    );
    assert.equal(
      (await call(`${server.url}/v2/repository/models/add/unload`, { method: 'POST' })).status,
      404,
    );
    await rejects(
      client.call('RepositoryModelUnload', {
        model_name: 'linear',
        parameters: { force: { bool_param: true } },
      }),
      status.INVALID_ARGUMENT,
      /"force" is not supported/,
    );
    assert.deepEqual(await client.call('ModelReady', { name: 'linear' }), { ready: true });
  });

  it('streams inferences, and a bad request or garbage bytes in the middle do not end the stream', async () => {
    const stream = client.stream();
    stream.write(linearRequest('s1'));
    stream.write({ ...linearRequest('s2'), model_name: 'nope' });
    stream.write(GARBAGE);
    stream.write({
      ...linearRequest('s4'),
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
    });
    stream.write(linearRequest('s5', [2, 0, 1]));
    const answers: Message[] = [];
    for (let i = 0; i < 5; i++) answers.push(await stream.next());
    // After the failures, the same stream still serves.
    stream.write(linearRequest('s6'));
    answers.push(await stream.next());
    stream.end();
    assert.equal((await stream.status).code, status.OK);

    const byId = new Map(answers.map((answer) => [(answer.infer_response as Message).id as string, answer]));
    assert.equal(byId.size, 6, 'one answer per request');
    for (const [id, value] of [
      ['s1', 4.75],
      ['s5', 3.25],
      ['s6', 4.75],
    ] as const) {
      const answer = byId.get(id)!;
      assert.equal(answer.error_message, '', id);
      assert.equal(firstFloat(answer.infer_response as Message), value, id);
    }
    const failure = (id: string, pattern: RegExp, code: string): void => {
      const answer = byId.get(id);
      assert.ok(answer, id);
      assert.match(answer.error_message as string, pattern, id);
      const response = answer.infer_response as Message;
      assert.deepEqual(response.raw_output_contents, [], id);
      assert.deepEqual(response.parameters, {
        [ERROR_CODE_TRAILER]: { string_param: code, parameter_choice: 'string_param' },
      });
    };
    failure('s2', /unknown model "nope"/, 'NOT_FOUND');
    failure('', /not a valid ModelInferRequest message \(30 bytes\): invalid wire type/, 'BAD_INPUT');
    failure('s4', /shape \[1,4\], expected \[-1,3\]/, 'BAD_INPUT');
  });

  it('refuses garbage bytes with INVALID_ARGUMENT and keeps serving', async () => {
    const error = await rejects(
      client.call('ModelInfer', GARBAGE),
      status.INVALID_ARGUMENT,
      /the ModelInfer request is not a valid ModelInferRequest message \(30 bytes\): invalid wire type/,
    );
    assert.deepEqual(error.metadata.get(ERROR_CODE_TRAILER), ['BAD_INPUT']);
    assert.equal(firstFloat(await client.call('ModelInfer', linearRequest('after-garbage'))), 4.75);
  });

  it('answers the Triton RPCs berth leaves out with UNIMPLEMENTED', async () => {
    await rejects(client.call('SystemSharedMemoryStatus', {}), status.UNIMPLEMENTED);
    await rejects(client.call('TraceSetting', {}), status.UNIMPLEMENTED);
    assert.deepEqual(await client.call('ServerLive', {}), { live: true });
  });
});
