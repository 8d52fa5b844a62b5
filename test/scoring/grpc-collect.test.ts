/**
 * Data collection and metrics over gRPC, against the HTTP front end of the same server: a gRPC
 * inference (unary or streamed) is sampled by the same collector and written as the same record
 * as the same inference over REST, and counted in the same metrics.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { startGrpcServer } from '../../src/scoring/grpc/index.js';
import { createClient, until, type InferenceClient, type Message } from './grpc-harness.js';
import { call, linearModel, postJson, startTestServer, tempDir, type TestServer } from './http-harness.js';

interface CollectedRecord {
  time: string;
  id: string;
  model: string;
  version: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

function readRecords(dir: string): CollectedRecord[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) => readFileSync(join(dir, file), 'utf8').split('\n'))
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as CollectedRecord);
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = (await call(`${url}/metrics`)).text;
  const value = pattern.exec(text)?.[1];
  assert.ok(value !== undefined, `${pattern} in /metrics`);
  return Number(value);
}

const COLLECTED = /^berth_data_collection_records_total (\d+)$/m;

/** Waits until the collector has written `count` records (it writes in the background). */
async function waitForRecords(url: string, count: number): Promise<void> {
  await until(async () => (await metric(url, COLLECTED)) >= count);
  assert.equal(await metric(url, COLLECTED), count);
}

const row = [1, 2, 3];
const grpcRequest = (id: string): Message => ({
  model_name: 'linear',
  id,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: row } }],
});

describe('gRPC data collection, as over REST', () => {
  const dir = tempDir('grpc-collect');
  const collected = join(dir.path, 'collected');
  let server: TestServer;
  let client: InferenceClient;

  before(async () => {
    server = await startTestServer(
      {
        models: [linearModel(dir.path, '1')],
        grpcPort: 0,
        dataCollection: { dir: collected, samplingRate: 1 },
      },
      { grpc: startGrpcServer },
    );
    client = createClient(server.handle.grpcPort!);
  });

  after(async () => {
    client.close();
    await server.close();
    dir.remove();
  });

  it('writes the same record for the same inference over REST, gRPC and a gRPC stream', async () => {
    const rest = await postJson(
      `${server.url}/v2/models/linear/infer`,
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: row }] },
      { 'x-request-id': 'rest-1' },
    );
    assert.equal(rest.status, 200, rest.text);
    await client.call('ModelInfer', grpcRequest('ignored'), { metadata: { 'x-request-id': 'grpc-1' } });
    await client.call('ModelInfer', grpcRequest('protocol-id'));
    const stream = client.stream({ metadata: { 'x-request-id': 'stream-1' } });
    stream.write(grpcRequest('streamed'));
    assert.equal((await stream.next()).error_message, '');
    stream.end();
    assert.equal((await stream.status).code, status.OK);
    // A failed inference is not collected, over either protocol.
    const bad = { ...grpcRequest('bad'), inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2] }] };
    await client.call('ModelInfer', bad).then(
      () => assert.fail('a [1,2] input must be refused'),
      (error: ServiceError) => assert.equal(error.code, status.INVALID_ARGUMENT),
    );

    await waitForRecords(server.url, 4);
    const records = readRecords(collected);
    assert.deepEqual(records.map((record) => record.id).sort(), [
      'grpc-1',
      'protocol-id',
      'rest-1',
      'stream-1',
    ]);
    const withoutId = ({ time, id, ...rest }: CollectedRecord) => {
      assert.ok(!Number.isNaN(Date.parse(time)), `${id}: time ${time}`);
      return rest;
    };
    const expected = withoutId(records.find((record) => record.id === 'rest-1')!);
    assert.deepEqual(expected, {
      model: 'linear',
      version: '1',
      inputs: { x: { datatype: 'FP32', shape: [1, 3], data: row } },
      outputs: { y: { datatype: 'FP32', shape: [1, 1], data: [4.75] } },
    });
    for (const record of records) assert.deepEqual(withoutId(record), expected, record.id);
  });

  it('counts gRPC inferences in the same metrics as REST ones', async () => {
    const pattern = /^berth_inference_duration_seconds_count\{model="linear"\} (\d+)$/m;
    const before = await metric(server.url, pattern);
    await client.call('ModelInfer', grpcRequest('counted'));
    const stream = client.stream();
    stream.write(grpcRequest('counted-stream'));
    await stream.next();
    stream.end();
    await stream.status;
    assert.equal(await metric(server.url, pattern), before + 2);
  });
});

describe('gRPC data collection sampling', () => {
  const dir = tempDir('grpc-sampling');
  const collected = join(dir.path, 'collected');
  let server: TestServer;
  let client: InferenceClient;

  before(async () => {
    server = await startTestServer(
      {
        models: [linearModel(dir.path, '1')],
        grpcPort: 0,
        dataCollection: { dir: collected, samplingRate: 0.5 },
      },
      { grpc: startGrpcServer },
    );
    client = createClient(server.handle.grpcPort!);
  });

  after(async () => {
    client.close();
    await server.close();
    dir.remove();
  });

  it('captures the configured share of gRPC requests', async () => {
    const calls = 200;
    for (let i = 0; i < calls; i++) await client.call('ModelInfer', grpcRequest(`sample-${i}`));
    // Closing the server writes every queued record.
    await server.close();
    const records = readRecords(collected);
    // Each call is captured with probability 0.5: outside [50, 150] of 200 has odds below 1e-12.
    assert.ok(records.length >= 50 && records.length <= 150, `${records.length} of ${calls} captured`);
    assert.ok(records.every((record) => record.id.startsWith('sample-')));
  });
});
