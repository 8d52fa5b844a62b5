/**
 * The gateway refuses what it must not forward: paths that would leave the endpoint once a URL
 * parser resolves them, malformed percent-encoding, and bodies over its limit (declared or
 * streamed), each answered by the gateway itself, with the replica never asked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import { rawRequest } from '../hostile/raw-http.js';
import { fakeDeployment, send, startFakeReplica, type FakeReplica } from './harness.js';

describe('gateway input', () => {
  let gateway: Gateway;
  let replica: FakeReplica;
  const limit = 256 * 1024;
  before(async () => {
    gateway = await startGateway({ maxBodyBytes: limit });
    replica = await startFakeReplica('blue');
    gateway.setEndpoint({
      name: 'ocr',
      authMode: 'none',
      keys: undefined,
      mirror: {},
      traffic: { blue: 100 },
      deployments: [fakeDeployment([replica])],
    });
  });
  after(async () => {
    await gateway.close();
    await replica.close();
  });

  const stillServes = async (): Promise<void> => {
    const answer = await send(`${gateway.url}/endpoints/ocr/v2/models/m/infer?x=1`, { body: {} });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).path, '/v2/models/m/infer?x=1');
  };

  it('never forwards a path that leaves the endpoint (dot segments, encoded or not): 400', async () => {
    const targets = [
      '/endpoints/ocr/v2/../metrics',
      '/endpoints/ocr/v2/%2e%2e/metrics',
      '/endpoints/ocr/v2/%2E./berth/status',
      '/endpoints/ocr/v2/.%2e/metrics',
      '/endpoints/ocr/v2/..%2fmetrics',
      '/endpoints/ocr/v2/..%5cmetrics',
      '/endpoints/ocr/v2/..\\metrics',
      '/endpoints/ocr/v2/./models',
      '/endpoints/ocr/v2//metrics',
      '/endpoints/ocr/v2/models/m/%00',
      '/endpoints/ocr/score/..',
      '/endpoints/ocr/v2/models/x#/../../metrics',
    ];
    for (const target of targets) {
      const before = replica.received;
      const answer = await rawRequest(gateway.url, { target });
      assert.ok(answer.status === 400 || answer.status === 404, `${target}: ${answer.status} ${answer.body}`);
      assert.equal(replica.received, before, `${target} reached the replica`);
      await stillServes();
    }
  });

  it('answers 400 for malformed percent-encoding in the endpoint name, the path or the query', async () => {
    for (const target of [
      '/endpoints/%E0%A4%A/score',
      '/endpoints/ocr/v2/models/%E0%A4%A/infer',
      '/endpoints/ocr/score?x=%E0%A4%A',
    ]) {
      const answer = await rawRequest(gateway.url, { method: 'POST', target, body: Buffer.from('{}') });
      assert.equal(answer.status, 400, `${target}: ${answer.body}`);
      assert.match(answer.body, /malformed percent-encoding/);
      // The error body's key is the route family's, even for a target that is refused.
      assert.match(answer.body, target.includes('/v2/') ? /^\{"error":/ : /^\{"message":/);
      await stillServes();
    }
  });

  it('answers 413 itself for a declared Content-Length over its limit, forwarding nothing', async () => {
    const before = replica.received;
    const answer = await rawRequest(gateway.url, {
      method: 'POST',
      target: '/endpoints/ocr/score',
      headers: { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) },
      body: Buffer.from('{"data":'),
    });
    assert.equal(answer.status, 413, answer.body);
    assert.equal(answer.headers['berth-error-code'], 'PAYLOAD_TOO_LARGE');
    assert.match(answer.body, new RegExp(`limit of ${limit} bytes`));
    assert.equal(replica.received, before);
    await stillServes();
  });

  it('answers 413 for a chunked body that streams past its limit', async () => {
    const answer = await rawRequest(gateway.url, {
      method: 'POST',
      target: '/endpoints/ocr/v2/models/m/infer',
      headers: { 'content-type': 'application/json' },
      stream: { chunkBytes: 16 * 1024, maxBytes: 64 * limit },
    });
    assert.equal(answer.status, 413, answer.body);
    assert.match(answer.body, /"error":".*larger than the gateway's limit/);
    await stillServes();
  });

  it('forwards a body just under its limit', async () => {
    const answer = await send(`${gateway.url}/endpoints/ocr/score`, { raw: Buffer.alloc(limit - 1, 0x20) });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).bytes, limit - 1);
  });
});
