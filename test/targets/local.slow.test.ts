/**
 * The local target against the real scoring server: child processes on loopback, real ONNX
 * Runtime, real scoring scripts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { LogLine } from '../../src/targets/target.js';
import {
  call,
  echoScript,
  linearDeployment,
  noProgress,
  scriptDeployment,
  tempDir,
  waitFor,
} from './helpers.js';

describe('local target', () => {
  const dir = tempDir('local-target');
  const target = createLocalTarget({
    kind: 'local',
    logsDir: `${dir.path}/logs`,
    restartBackoff: { initialMs: 200, maxMs: 1000 },
  });
  after(async () => {
    await target.close();
    dir.remove();
  });

  it('deploys replicas that become Healthy, score, report status and keep logs', async () => {
    const spec = linearDeployment(dir.path, { deploymentName: 'basic', instanceCount: 2 });
    const messages: string[] = [];
    const handle = await target.deploy(spec, (message) => messages.push(message));
    assert.deepEqual(JSON.parse(JSON.stringify(handle)), handle);
    assert.equal(handle.kind, 'local');
    assert.ok(messages.some((message) => /2 replica\(s\) ready/.test(message)));

    const status = await target.status(handle);
    assert.equal(status.state, 'Healthy');
    assert.equal(status.replicas.length, 2);
    for (const replica of status.replicas) {
      assert.equal(replica.state, 'ready');
      const answer = await call(`${replica.url}/score`, { body: { data: [[1, 2, 3]] } });
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), [[4.75]]);
    }
    const liveness = await call(`${status.replicas[0]!.url}/`);
    assert.equal(liveness.body, 'Healthy');

    const lines: LogLine[] = [];
    for await (const line of target.logs(handle, { lines: 100, follow: false })) lines.push(line);
    assert.ok(lines.some((line) => line.text.includes('"event":"listening"')));
    assert.ok(lines.some((line) => line.text.includes('"route":"/score"')));
    assert.deepEqual(
      new Set(lines.map((line) => line.replica)),
      new Set(status.replicas.map((replica) => replica.id)),
    );
    const last = await collect(target.logs(handle, { lines: 2, follow: false }));
    assert.equal(last.length, 2);
    assert.match(readFileSync(String(handle.data.logFile), 'utf8'), /"event":"listening"/);

    // Following: new lines arrive until the signal aborts.
    const controller = new AbortController();
    const followed: LogLine[] = [];
    const reading = (async () => {
      for await (const line of target.logs(handle, { lines: 0, follow: true, signal: controller.signal })) {
        followed.push(line);
        if (line.text.includes('/v2/health/live')) controller.abort();
      }
    })();
    await call(`${status.replicas[0]!.url}/v2/health/live`);
    await reading;
    assert.ok(followed.some((line) => line.text.includes('/v2/health/live')));

    await target.remove(handle);
    await assert.rejects(target.status(handle), (error) => hasErrorCode(error, 'NOT_FOUND'));
    await assert.rejects(call(`${status.replicas[0]!.url}/`));
  });

  it('restarts a replica that dies, counts it, and the other replica keeps serving', async () => {
    const spec = linearDeployment(dir.path, { deploymentName: 'crashy', instanceCount: 2 });
    const handle = await target.deploy(spec, noProgress);
    const pids = handle.data.pids as number[];
    const [first, second] = (await target.status(handle)).replicas;
    process.kill(pids[0]!, 'SIGKILL');
    await waitFor(
      () => target.currentReplicas(handle)[0]?.state !== 'ready',
      5000,
      'the killed replica to leave rotation',
    );
    const during = await target.status(handle);
    assert.equal(during.state, 'Unhealthy');
    assert.match(during.reason ?? '', /1 of 2 replicas ready/);
    assert.match(during.reason ?? '', /SIGKILL/);
    const answer = await call(`${second!.url}/score`, { body: { data: [[1, 2, 3]] } });
    assert.equal(answer.status, 200);

    await waitFor(async () => (await target.status(handle)).state === 'Healthy', 20_000, 'the restart');
    const replicas = (await target.status(handle)).replicas;
    assert.equal(replicas[0]!.restarts, 1);
    assert.equal(replicas[1]!.restarts, 0);
    assert.notEqual(replicas[0]!.url, first!.url);
    const again = await call(`${replicas[0]!.url}/score`, { body: { data: [[0, 0, 0]] } });
    assert.deepEqual(JSON.parse(again.body), [[0.25]]);
    await target.remove(handle);
  });

  it('fails the deployment with the scoring script init error text', async () => {
    const spec = scriptDeployment(
      dir.path,
      'export function init() { throw new Error("cannot open vocabulary file vocab-42.json"); }\nexport function run() { return 1; }\n',
      { deploymentName: 'broken' },
    );
    await assert.rejects(target.deploy(spec, noProgress), (error: Error) => {
      assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
      assert.match(error.message, /vocab-42\.json/);
      return true;
    });
    const handle = { target: 'local', kind: 'local' as const, id: 'ep/broken', data: {} };
    const status = await target.status(handle);
    assert.equal(status.state, 'Failed');
    assert.match(status.reason ?? '', /init\(\) failed.*vocab-42\.json/s);
    await target.remove(handle);
  });

  it('runs a scoring script with the deployment environment variables', async () => {
    const spec = scriptDeployment(dir.path, echoScript, {
      deploymentName: 'env',
      environmentVariables: { GREETING: 'hi' },
    });
    const handle = await target.deploy(spec, noProgress);
    const [replica] = target.currentReplicas(handle);
    const answer = await call(`${replica!.url}/score`, { body: { n: 1 } });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).deployment, 'env');
    const lines = await collect(target.logs(handle, { lines: 50, follow: false }));
    assert.ok(
      lines.some((line) => line.text.includes('init done for env')),
      JSON.stringify(lines),
    );
    await assert.rejects(target.deploy(spec, noProgress), (error) => hasErrorCode(error, 'CONFLICT'));
    await target.remove(handle);
  });
});

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}
