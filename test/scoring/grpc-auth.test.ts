import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { InferenceEngine } from '../../src/scoring/engine.js';
import { createAuth } from '../../src/scoring/auth.js';
import { countingAdmission, startEngine } from './grpc-engine.js';
import { startOnLoopback, type Running } from './grpc-harness.js';
import { writeTestModels } from './grpc-models.js';

describe('gRPC API keys', () => {
  let dir = '';
  let engine: InferenceEngine;
  let running: Running;
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

  it('follows a key rotation at once, as the HTTP front end does', async () => {
    const { client } = running;
    auth.setKeys({ primaryKey: 'first-key', secondaryKey: 'third-key' });
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'third-key' })), status.OK);
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'second-key' })), status.UNAUTHENTICATED);
    assert.equal(await code(client.call('ModelInfer', infer, { key: 'first-key' })), status.OK);
  });
});
