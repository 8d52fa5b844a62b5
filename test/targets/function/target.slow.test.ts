/**
 * The function target end to end, as the platforms run a function: deploy proves the package
 * with a cold start; the deployment's one address answers the conformance requests through each
 * handler shape; instances start with concurrent requests up to maxInstances and stop when idle
 * (scale to zero), the next request starting one again; an update swaps the package behind the
 * same address; a scoring script whose init throws fails the deploy with its message; logs carry
 * the instances' output; remove leaves no process and no address.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { hasErrorCode } from '../../../src/core/errors.js';
import {
  createFunctionTarget,
  functionKinds,
  type FunctionTarget,
} from '../../../src/targets/function/index.js';
import type { DeploymentHandle, LogLine } from '../../../src/targets/target.js';
import { send } from '../../helpers/http.js';
import {
  echoScript,
  linearDeployment,
  livePids,
  noProgress,
  scriptDeployment,
  tempDir,
  waitFor,
} from '../helpers.js';

const rows = [
  [1, 2, 3],
  [0, 0, 0],
  [-2, 0.5, 1],
];
const expected = [[4.75], [0.25], [0.75]];
const v2Request = (id: string) => ({
  id,
  inputs: [{ name: 'x', shape: [3, 3], datatype: 'FP32', data: rows.flat() }],
});

function urlOf(target: FunctionTarget, handle: DeploymentHandle): string {
  const [replica] = target.currentReplicas(handle);
  assert.ok(replica?.url !== undefined, 'the deployment has an address');
  return replica.url;
}

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

describe('function target', { concurrency: 1 }, () => {
  const dir = tempDir('function-target');
  const targets: FunctionTarget[] = [];
  const open = (options: Partial<Parameters<typeof createFunctionTarget>[0]> = {}): FunctionTarget => {
    const target = createFunctionTarget({ kind: 'function', workDir: `${dir.path}/work`, ...options });
    targets.push(target);
    return target;
  };
  after(async () => {
    await Promise.all(targets.map((target) => target.close()));
    dir.remove();
  });

  for (const handler of functionKinds) {
    it(`${handler}: deploys, answers the conformance requests at its address, and removes`, async () => {
      const target = open({ handler, name: `fn-${handler}` });
      const spec = linearDeployment(dir.path, {
        target: `fn-${handler}`,
        endpointName: 'shop',
        deploymentName: handler,
      });
      const handle = await target.deploy(spec, noProgress);
      assert.deepEqual(JSON.parse(JSON.stringify(handle)), handle, 'the handle is JSON');
      const status = await target.status(handle);
      assert.equal(status.state, 'Healthy', status.reason);
      assert.equal(status.replicas.length, 1);
      await assert.rejects(target.deploy(spec, noProgress), (error) => hasErrorCode(error, 'CONFLICT'));
      const url = urlOf(target, handle);
      assert.equal((await send(`${url}/`)).body, 'Healthy');
      const score = await send(`${url}/score`, { body: { data: rows } });
      assert.equal(score.status, 200, score.body);
      assert.deepEqual(JSON.parse(score.body), expected);
      const infer = await send(`${url}/v2/models/linear/infer`, { body: v2Request('c1') });
      assert.equal(infer.status, 200, infer.body);
      assert.deepEqual(JSON.parse(infer.body), {
        model_name: 'linear',
        model_version: '1',
        id: 'c1',
        outputs: [{ name: 'y', datatype: 'FP32', shape: [3, 1], data: expected.flat() }],
      });
      const wrong = await send(`${url}/score`, { body: { data: [[1, 2]] } });
      assert.equal(wrong.status, 400);
      assert.match(JSON.parse(wrong.body).message, /expected \[-1,3\]/);
      const pids = target.instancePids(handle);
      assert.equal(pids.length, 1, 'one warm instance answered them all');
      await target.remove(handle);
      await assert.rejects(target.status(handle), (error) => hasErrorCode(error, 'NOT_FOUND'));
      await assert.rejects(send(`${url}/`, { keepAlive: false }), 'the address stops answering');
      assert.deepEqual(livePids(pids), []);
    });
  }

  it('fails a deployment whose scoring script init throws, with the script message', async () => {
    const target = open({ name: 'fn-broken' });
    const broken = scriptDeployment(
      dir.path,
      'export function init() { throw new Error("cannot open vocabulary file " + process.env.VOCABULARY); }\nexport function run() { return 1; }',
      {
        target: 'fn-broken',
        endpointName: 'shop',
        deploymentName: 'broken',
        environmentVariables: { VOCABULARY: 'vocab-42.json' },
      },
    );
    await assert.rejects(target.deploy(broken, noProgress), (error: Error) => {
      assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
      assert.match(error.message, /vocab-42\.json/);
      return true;
    });
    const handle: DeploymentHandle = { target: 'fn-broken', kind: 'function', id: 'shop/broken', data: {} };
    const status = await target.status(handle);
    assert.equal(status.state, 'Failed');
    assert.match(status.reason ?? '', /vocab-42\.json/);
    await target.remove(handle);
    await assert.rejects(target.status(handle), (error) => hasErrorCode(error, 'NOT_FOUND'));
  });

  it('fails the request an instance dies in (500), and the next request starts a fresh instance', async () => {
    const target = open({ name: 'fn-crash' });
    const script = [
      'export function init() {}',
      'export function run(input) {',
      '  if (input && input.die) process.kill(process.pid, "SIGKILL");',
      '  return { pid: process.pid };',
      '}',
    ].join('\n');
    const spec = scriptDeployment(dir.path, script, {
      target: 'fn-crash',
      endpointName: 'shop',
      deploymentName: 'crash',
    });
    const handle = await target.deploy(spec, noProgress);
    const url = urlOf(target, handle);
    const [first] = target.instancePids(handle);
    const died = await send(`${url}/score`, { body: { die: true } });
    assert.equal(died.status, 500, died.body);
    assert.equal(died.headers['x-berth-error-code'], 'WORKER_CRASHED');
    assert.match(JSON.parse(died.body).message, /exited \(SIGKILL\)/);
    const next = await send(`${url}/score`, { body: {} });
    assert.equal(next.status, 200, next.body);
    assert.notEqual(JSON.parse(next.body).pid, first, 'a fresh instance');
    assert.equal(target.statistics(handle)?.coldStarts, 2);
    await target.remove(handle);
  });

  describe('one scripted deployment: scale out, scale to zero, update, logs', { concurrency: 1 }, () => {
    let target: FunctionTarget;
    let handle: DeploymentHandle;
    let url: string;
    const score = (body: unknown, id: string) =>
      send(`${url}/score`, { body, headers: { 'x-request-id': id } });

    it('deploys with one warm instance', async () => {
      target = open({ name: 'fn-scale', maxInstances: 2, idleTimeoutMs: 1500 });
      const spec = scriptDeployment(dir.path, echoScript, {
        target: 'fn-scale',
        endpointName: 'shop',
        deploymentName: 'echo',
      });
      handle = await target.deploy(spec, noProgress);
      url = urlOf(target, handle);
      assert.equal(target.statistics(handle)?.coldStarts, 1);
    });

    it('starts instances for concurrent requests, never more than maxInstances', async () => {
      const answers = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((n) => score({ sleep: 400, n }, `fn-scale-${n}`)),
      );
      for (const answer of answers) assert.equal(answer.status, 200, answer.body);
      const pids = new Set(answers.map((answer) => JSON.parse(answer.body).pid as number));
      assert.equal(pids.size, 2, 'two instances served the six requests');
      const statistics = target.statistics(handle)!;
      assert.ok(statistics.running <= 2, `running ${statistics.running}`);
      assert.ok(statistics.coldStarts <= 3, `cold starts ${statistics.coldStarts}`);
    });

    it('stops idle instances (scale to zero), and the next request starts one again', async () => {
      await waitFor(
        () => target.instancePids(handle).length === 0,
        30_000,
        'the instances to stop when idle',
      );
      const before = target.statistics(handle)!.coldStarts;
      const answer = await score({ after: 'zero' }, 'fn-scale-cold');
      assert.equal(answer.status, 200, answer.body);
      assert.equal(target.statistics(handle)!.coldStarts, before + 1);
      assert.equal(target.instancePids(handle).length, 1);
    });

    it('updates behind the same address: the new package answers, old instances stop', async () => {
      const old = target.instancePids(handle);
      // New code and a new environment: the answer shows both.
      const script = echoScript.replace('ok: true', 'ok: true, v: process.env.V');
      const next = scriptDeployment(dir.path, script, {
        target: 'fn-scale',
        endpointName: 'shop',
        deploymentName: 'echo',
        environmentVariables: { V: '2' },
      });
      handle = await target.update(handle, next, noProgress);
      assert.equal(urlOf(target, handle), url, 'the same address');
      const answer = await score({}, 'fn-scale-after-update');
      assert.equal(JSON.parse(answer.body).v, '2');
      await waitFor(() => livePids(old).length === 0, 20_000, 'the old instances to stop');
    });

    it('keeps the instances output as the deployment logs, and follows new lines', async () => {
      const lines = await collect(target.logs(handle, { lines: 2000, follow: false }));
      assert.ok(
        lines.some((line) => line.text.includes('init done for echo')),
        'the script init line',
      );
      assert.ok(
        lines.some((line) => line.text.includes('fn-scale-3')),
        'a request line',
      );
      assert.ok(
        lines.every((line) => /^echo-\d+-\d+$/.test(line.replica)),
        lines[0]?.replica,
      );
      const controller = new AbortController();
      const followed: LogLine[] = [];
      const reading = (async () => {
        for await (const line of target.logs(handle, { lines: 0, follow: true, signal: controller.signal })) {
          followed.push(line);
          if (line.text.includes('fn-scale-follow')) controller.abort();
        }
      })();
      await score({}, 'fn-scale-follow');
      const timer = setTimeout(() => controller.abort(), 15_000);
      await reading;
      clearTimeout(timer);
      assert.ok(followed.some((line) => line.text.includes('fn-scale-follow')));
    });

    it('removes: no instance left, the address closed', async () => {
      const pids = target.instancePids(handle);
      await target.remove(handle);
      assert.deepEqual(target.currentReplicas(handle), []);
      await assert.rejects(send(`${url}/`, { keepAlive: false }));
      assert.deepEqual(livePids(pids), []);
    });
  });
});
