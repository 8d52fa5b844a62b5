/**
 * Admission, timeouts, scripts and graceful stop over real HTTP, with a scoring script whose
 * `run` sleeps on request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, postJson, sleepyScript, startTestServer, tempDir, type TestServer } from './http-harness.js';

describe('scoring HTTP admission and lifecycle', () => {
  const dir = tempDir('http-admission');
  let server: TestServer;
  let url: string;

  before(async () => {
    const { script, model } = sleepyScript(dir.path);
    server = await startTestServer({
      models: [model],
      scoringScript: script,
      workers: 2,
      maxConcurrentRequests: 1,
      maxQueueSize: 1,
      requestTimeoutMs: 400,
    });
    url = server.url;
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('passes the body to the script and reports a failing run', async () => {
    const ok = await postJson(`${url}/score`, { hello: 'world' });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json(), { ok: true, echo: { hello: 'world' } });
    assert.ok(ok.headers.has('x-ms-run-fn-exec-ms'));
    const failed = await postJson(`${url}/score`, { fail: 'on purpose' });
    assert.equal(failed.status, 500);
    assert.equal(failed.headers.get('x-ms-run-function-failed'), 'True');
    assert.match((failed.json() as { message: string }).message, /boom: on purpose/);
    const swagger = (await call(`${url}/swagger.json`)).json() as {
      components: { schemas: { ServiceOutput: unknown } };
    };
    assert.deepEqual(swagger.components.schemas.ServiceOutput, { type: 'object' });
  });

  it('refuses a burst past the queue with 429 and Retry-After, then serves again', async () => {
    const burst = await Promise.all(
      Array.from({ length: 6 }, () => postJson(`${url}/score`, { sleep: 150 })),
    );
    const statuses = burst.map((answer) => answer.status);
    assert.ok(statuses.filter((status) => status === 429).length >= 3, `statuses: ${statuses.join(',')}`);
    assert.ok(statuses.includes(200));
    const refused = burst.find((answer) => answer.status === 429)!;
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match((refused.json() as { message: string }).message, /busy/);
    assert.equal((await postJson(`${url}/score`, { n: 1 })).status, 200);
  });

  it('times out in time with 504 and frees the slot', async () => {
    const started = Date.now();
    const slow = await postJson(`${url}/score`, { sleep: 1500 });
    const took = Date.now() - started;
    assert.equal(slow.status, 504, slow.text);
    assert.ok(took < 1000, `took ${took} ms`);
    assert.match((slow.json() as { message: string }).message, /timed out after 400 ms/);
    const metrics = await call(`${url}/metrics`);
    assert.match(metrics.text, /berth_requests_in_flight 0/);
    assert.match(metrics.text, /berth_request_timeouts_total 1/);
    assert.equal((await postJson(`${url}/score`, { n: 2 })).status, 200);
  });

  it('finishes an in-flight request on a graceful stop', async () => {
    const { script, model } = sleepyScript(dir.path);
    const own = await startTestServer({ models: [model], scoringScript: script, requestTimeoutMs: 5000 });
    const inFlight = postJson(`${own.url}/score`, { sleep: 400 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = own.close();
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { ok: true, echo: { sleep: 400 } });
    await closing;
    await assert.rejects(fetch(`${own.url}/`));
  });
});
