/**
 * RepositoryModelUnload of a model that requests are using, over gRPC (Triton's published client):
 * the requests already in the engine finish, later ones are refused, and a stream open across
 * the unload goes on.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ModelToServe } from '../../src/scoring/engine.js';
import { startGrpcServer } from '../../src/scoring/grpc/index.js';
import {
  createTritonClient,
  firstFloat,
  linearRequest,
  rejects,
  until,
  type InferenceClient,
  type Message,
} from './grpc-harness.js';
import { call, linearModel, postJson, startTestServer, tempDir, type TestServer } from './http-harness.js';

describe('unloading a model in use over gRPC', () => {
  const dir = tempDir('grpc-unload');
  let server: TestServer;
  let client: InferenceClient;
  const gate = join(dir.path, 'open');

  before(async () => {
    const linear = linearModel(dir.path, '1');
    const waiting = gatedScript(dir.path);
    // One worker, kept busy by a scoring-script call that waits for the test, and a long batching
    // delay: the inferences wait in the engine's queue for linear until the unload meets them.
    server = await startTestServer(
      {
        models: [waiting.model, linear],
        scoringScript: waiting.script,
        workers: 1,
        grpcPort: 0,
        requestTimeoutMs: 30_000,
        batching: { enabled: true, maxBatchSize: 8, maxQueueDelayMs: 20_000 },
      },
      {
        grpc: startGrpcServer,
        repository: {
          index: async () => [{ name: 'linear', version: '1', state: 'READY', reason: '' }],
          resolve: async () => linear,
        },
      },
    );
    client = createTritonClient(server.handle.grpcPort!);
  });

  after(async () => {
    client.close();
    await server.close();
    dir.remove();
  });

  async function inFlight(): Promise<number> {
    const metrics = await call(`${server.url}/metrics`);
    const value = /^berth_requests_in_flight (\d+)$/m.exec(metrics.text)?.[1];
    assert.ok(value !== undefined, 'berth_requests_in_flight is reported');
    return Number(value);
  }

  it('lets the requests already in the engine finish, then refuses new ones', async () => {
    const busy = postJson(`${server.url}/score`, { waitFor: gate });
    await until(async () => (await inFlight()) >= 1);
    const unary = client.call('ModelInfer', linearRequest('in-use'));
    const stream = client.stream();
    stream.write(linearRequest('in-use-stream'));
    await until(async () => (await inFlight()) >= 3);
    assert.equal(await inFlight(), 3, 'the script call and both inferences hold admission slots');

    assert.deepEqual(await client.call('RepositoryModelUnload', { model_name: 'linear' }), {});
    assert.equal(firstFloat(await unary), 4.75);
    const streamed = await stream.next();
    assert.equal(streamed.error_message, '');
    assert.equal(firstFloat(streamed.infer_response as Message), 4.75);

    await rejects(
      client.call('ModelInfer', linearRequest('late')),
      status.NOT_FOUND,
      /unknown model "linear"/,
    );
    assert.deepEqual(await client.call('ModelReady', { name: 'linear' }), { ready: false });
    stream.write(linearRequest('late-stream'));
    assert.match((await stream.next()).error_message as string, /unknown model "linear"/);
    stream.end();
    assert.equal((await stream.status).code, status.OK);
    writeFileSync(gate, '');
    assert.equal((await busy).status, 200);
    assert.equal(await inFlight(), 0);
  });
});

/** A script-only model whose `run` returns once the file `input.waitFor` exists. */
function gatedScript(dir: string): { script: string; model: ModelToServe } {
  const modelDir = join(dir, 'gated');
  mkdirSync(modelDir, { recursive: true });
  const script = join(dir, 'gated.mjs');
  writeFileSync(
    script,
    [
      "import { existsSync } from 'node:fs';",
      'export async function run(input) {',
      '  while (!existsSync(input.waitFor)) await new Promise((resolve) => setTimeout(resolve, 10));',
      '  return { ok: true };',
      '}',
    ].join('\n'),
  );
  const model: ModelToServe = {
    name: 'gated',
    version: '1',
    framework: 'custom',
    modelDir,
    modelFile: undefined,
    signature: null,
  };
  return { script, model };
}
