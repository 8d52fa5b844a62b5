import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { InferenceEngine } from '../../src/scoring/engine.js';
import { createAuth } from '../../src/scoring/auth.js';
import { countingAdmission, startEngine } from './grpc-engine.js';
import { GARBAGE, startOnLoopback, type Running } from './grpc-harness.js';
import { writeTestModels } from './grpc-models.js';

describe('gRPC API keys', () => {
  let dir = '';
  let engine: InferenceEngine;
  let running: Running;
  let ready = true;
  const infer = {
    model_name: 'linear',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
  };

  const auth = createAuth({ primaryKey: 'first-key', secondaryKey: 'second-key' });

  before(async () => {
    const written = await writeTestModels();
    dir = written.dir;
    engine = await startEngine(written.models);
    running = await startOnLoopback({
      engine,
      admission: countingAdmission(),
      auth,
      requestTimeoutMs: 5_000,
      ready: () => ready,
    });
  });

  after(async () => {
    await running.stop();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function code(promise: Promise<unknown>): Promise<status> {
    return promise.then(
      () => status.OK,
      (error: ServiceError) => error.code,
    );
  }

  it('lets probes through without a key', async () => {
    assert.deepEqual(await running.client.call('ServerLive', {}), { live: true });
    assert.deepEqual(await running.client.call('ServerReady', {}), { ready: true });
  });

  it('answers ServerReady false while the server is stopping, and still scores', async () => {
    ready = false;
    try {
      assert.deepEqual(await running.client.call('ServerReady', {}), { ready: false });
      assert.deepEqual(await running.client.call('ServerLive', {}), { live: true });
      assert.equal(await code(running.client.call('ModelInfer', infer, { key: 'first-key' })), status.OK);
    } finally {
      ready = true;
    }
  });

  it('refuses calls with no key or a wrong key as UNAUTHENTICATED', async () => {
    const { client } = running;
    assert.equal(await code(client.call('ModelInfer', infer)), status.UNAUTHENTICATED);
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'first-kez' })), status.UNAUTHENTICATED);
    assert.equal(await code(client.call('ModelMetadata', { name: 'linear' })), status.UNAUTHENTICATED);
    assert.equal(await code(client.call('ServerMetadata', {})), status.UNAUTHENTICATED);
  });

  it('accepts any configured key', async () => {
    const { client } = running;
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'first-key' })), status.OK);
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'second-key' })), status.OK);
    assert.equal(
      await code(client.call('ModelMetadata', { name: 'linear' }, { key: 'second-key' })),
      status.OK,
    );
  });

  it('asks for a key on every Triton extension, on the stream, and before decoding', async () => {
    const { client } = running;
    const calls: [string, Record<string, unknown>][] = [
      ['ModelConfig', { name: 'linear' }],
      ['ModelStatistics', {}],
      ['RepositoryIndex', {}],
      ['RepositoryModelLoad', { model_name: 'linear' }],
      ['RepositoryModelUnload', { model_name: 'linear' }],
    ];
    for (const [method, request] of calls) {
      assert.equal(await code(client.call(method, request)), status.UNAUTHENTICATED, method);
    }
    assert.equal(await code(client.call('ModelConfig', { name: 'linear' }, { key: 'first-key' })), status.OK);
    assert.equal(await code(client.call('ModelStatistics', {}, { key: 'first-key' })), status.OK);
    // This server has no repository: with a key, the call gets as far as saying so.
    assert.equal(
      await code(client.call('RepositoryModelUnload', { model_name: 'linear' }, { key: 'first-key' })),
      status.INVALID_ARGUMENT,
    );
    assert.deepEqual(await client.call('ModelReady', { name: 'linear' }, { key: 'first-key' }), {
      ready: true,
    });
    assert.equal(await code(client.call('ModelInfer', GARBAGE)), status.UNAUTHENTICATED);
    assert.equal(
      await code(client.call('ModelInfer', GARBAGE, { key: 'first-key' })),
      status.INVALID_ARGUMENT,
    );

    const refused = client.stream();
    refused.write(infer);
    assert.equal((await refused.status).code, status.UNAUTHENTICATED);
    const stream = client.stream({ key: 'second-key' });
    stream.write(infer);
    assert.equal((await stream.next()).error_message, '');
    stream.end();
    assert.equal((await stream.status).code, status.OK);
  });

  it('follows a key rotation at once, as the HTTP front end does', async () => {
    const { client } = running;
    auth.setKeys({ primaryKey: 'first-key', secondaryKey: 'third-key' });
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'third-key' })), status.OK);
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'second-key' })), status.UNAUTHENTICATED);
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'first-key' })), status.OK);
  });
});
