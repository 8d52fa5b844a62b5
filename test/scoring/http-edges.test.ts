/**
 * The HTTP front end's edges over real loopback sockets: headers that never finish (408), paths
 * whose percent-encoding is broken (400), and the /berth/status route (behind the key, as /metrics).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { clientErrorAnswer } from '../../src/scoring/http/server.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';
import { call, linearModel, postJson, startTestServer, tempDir, type TestServer } from './http-harness.js';

const KEY = 'edge-key-123';
const auth = { authorization: `Bearer ${KEY}` };

/** Sends `text` on a raw socket and resolves with everything the server writes before closing. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('scoring HTTP edges', () => {
  const dir = tempDir('http-edges');
  let server: TestServer;

  before(async () => {
    server = await startTestServer({
      models: [linearModel(dir.path)],
      headersTimeoutMs: 300,
      auth: { primaryKey: KEY },
    });
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('answers 408 to headers that do not arrive in time', async () => {
    const started = Date.now();
    const answer = await rawExchange(server.handle.httpPort, 'GET /v2/health/live HTTP/1.1\r\nHost: x\r\n');
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(answer, /the request headers did not arrive within 300 ms/);
    assert.ok(Date.now() - started < 3_000);
    assert.equal((await call(`${server.url}/v2/health/live`)).status, 200);
    assert.deepEqual(
      clientErrorAnswer('ERR_HTTP_REQUEST_TIMEOUT', { maxHeaderBytes: 1, headersTimeoutMs: 5 }).status,
      408,
    );
    assert.equal(
      clientErrorAnswer('HPE_INVALID_METHOD', { maxHeaderBytes: 1, headersTimeoutMs: 5 }).status,
      400,
    );
  });

  it('answers 400 to a malformed percent-encoded path on every route that names a model', async () => {
    for (const path of [
      '/v2/models/%E0%A4%A/infer',
      '/v2/models/%E0%A4%A',
      '/v2/models/linear/versions/%E0%A4%A/infer',
      '/v2/repository/models/%E0%A4%A/load',
    ]) {
      const answer = await postJson(`${server.url}${path}`, {}, auth);
      assert.equal(answer.status, 400, `${path}: ${answer.text}`);
      assert.match((answer.json() as { error: string }).error, /is not valid percent-encoding/);
    }
    const ok = await postJson(
      `${server.url}/v2/models/linear/infer`,
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [2, 0, 1] }] },
      auth,
    );
    assert.equal(ok.status, 200, ok.text);
  });

  it('serves /berth/status behind the key, as /metrics', async () => {
    assert.equal((await call(`${server.url}/berth/status`)).status, 401);
    assert.equal((await call(`${server.url}/metrics`)).status, 401);
    const answer = await call(`${server.url}/berth/status`, { headers: auth });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'application/json');
    const status = answer.json() as Record<string, unknown> & {
      memory: { limitBytes: number; rssBytes: number };
    };
    assert.deepEqual(Object.keys(status).sort(), [
      'lastFailure',
      'live',
      'load',
      'memory',
      'ready',
      'replaced',
      'workers',
    ]);
    assert.equal(status.live, true);
    assert.equal(status.ready, true);
    assert.deepEqual(status.workers, { configured: 1, alive: 1 });
    assert.deepEqual(status.replaced, { timeout: 0, crash: 0, memory: 0, exit: 0 });
    assert.equal(status.lastFailure, null);
    assert.equal(status.memory.limitBytes, resolveScoringOptions({}).engine.memoryLimitBytes);
    assert.ok(status.memory.rssBytes > 0);
    assert.equal((await call(`${server.url}/`)).text, 'Healthy');
  });
});
