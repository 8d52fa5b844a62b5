/**
 * The container target against a real Docker Engine: images built through the Engine API from a
 * base made on this machine (no registry is reachable), containers on loopback ports, real ONNX
 * Runtime inside. Outside CI a missing engine skips the suite with a message; in CI it fails.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import { createContainerTarget, type ContainerTarget } from '../../src/targets/container/index.js';
import type { LogLine, ResolvedDeployment } from '../../src/targets/target.js';
import {
  dockerOrSkip,
  ensureTestBaseImage,
  removeTestContainers,
  testDockerHost,
  testEngine,
} from '../fixtures/docker-base-image.js';
import { send, type Answer } from '../endpoints/harness.js';
import { call, echoScript, linearDeployment, scriptDeployment, tempDir } from './helpers.js';

const GB = 1024 ** 3;
const skip = await dockerOrSkip();
if (skip !== undefined) console.log(`# ${skip}`);

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

function recorder(): { messages: string[]; progress: (message: string) => void } {
  const messages: string[] = [];
  return { messages, progress: (message) => messages.push(message) };
}

describe('container target', { skip }, () => {
  const dir = tempDir('container-target');
  const name = `ct${process.pid}`;
  let target: ContainerTarget;
  let baseImage: string;
  const spec = (overrides: Partial<ResolvedDeployment> = {}): ResolvedDeployment =>
    linearDeployment(dir.path, { target: name, ...overrides });

  before(async () => {
    baseImage = await ensureTestBaseImage();
    target = createContainerTarget({
      kind: 'container',
      name,
      baseImage,
      dockerHost: testDockerHost(),
      cacheDir: `${dir.path}/cache`,
    });
  });
  after(async () => {
    await target?.close();
    await removeTestContainers(name);
    dir.remove();
  });

  it('deploys 2 containers with limits and labels that become Healthy, score and keep logs', async () => {
    const { messages, progress } = recorder();
    const handle = await target.deploy(
      spec({
        deploymentName: 'two',
        instanceCount: 2,
        resources: { cpu: 0.5, memoryBytes: 256 * 1024 ** 2, gpu: 0 },
      }),
      progress,
    );
    assert.deepEqual(JSON.parse(JSON.stringify(handle)), handle);
    assert.equal(handle.kind, 'container');
    assert.ok(
      messages.some((m) => /2 container\(s\) ready/.test(m)),
      messages.join('\n'),
    );
    const status = await target.status(handle);
    assert.equal(status.state, 'Healthy');
    assert.equal(status.replicas.length, 2);
    for (const replica of status.replicas) {
      assert.match(replica.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      const answer = await call(`${replica.url}/score`, { body: { data: [[1, 2, 3]] } });
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), [[4.75]]);
    }
    const ids = (handle.data.replicas as { container: string }[]).map((replica) => replica.container);
    const info = await testEngine().getContainer(ids[0]!).inspect();
    assert.equal(info.HostConfig.NanoCpus, 0.5e9);
    assert.equal(info.HostConfig.Memory, 256 * 1024 ** 2);
    assert.equal(info.HostConfig.PortBindings['5001/tcp'][0].HostIp, '127.0.0.1');
    assert.equal(info.Config.Labels['berth.endpoint'], 'ep');
    assert.equal(info.Config.Labels['berth.deployment'], 'two');
    assert.ok(info.Config.Healthcheck?.Test?.includes('node'));

    const lines = await collect(target.logs(handle, { lines: 200, follow: false }));
    assert.ok(lines.some((line) => line.text.includes('"event":"listening"')));
    assert.ok(lines.some((line) => line.text.includes('"route":"/score"')));
    assert.deepEqual(new Set(lines.map((line) => line.replica)), new Set(status.replicas.map((r) => r.id)));
    assert.equal((await collect(target.logs(handle, { lines: 2, follow: false }))).length, 2);

    const controller = new AbortController();
    const followed: LogLine[] = [];
    const reading = (async () => {
      for await (const line of target.logs(handle, { lines: 0, follow: true, signal: controller.signal })) {
        followed.push(line);
        if (line.text.includes('/v2/health/live')) controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await call(`${status.replicas[0]!.url}/v2/health/live`);
    await reading;
    assert.ok(followed.some((line) => line.text.includes('/v2/health/live')));

    await target.remove(handle);
    await assert.rejects(target.status(handle), (error) => hasErrorCode(error, 'NOT_FOUND'));
    const left = await testEngine().listContainers({
      all: true,
      filters: JSON.stringify({ label: [`berth.target=${name}`, 'berth.deployment=two'] }),
    });
    assert.deepEqual(left, []);
  });

  it('reuses the image for the same inputs and rebuilds only the code layer after a code change', async () => {
    const script = scriptDeployment(dir.path, echoScript, { target: name, deploymentName: 'code' });
    const first = recorder();
    let handle = await target.deploy(script, first.progress);
    assert.equal((await target.status(handle)).state, 'Healthy');
    await target.remove(handle);

    const again = recorder();
    handle = await target.deploy(script, again.progress);
    assert.ok(
      again.messages.some((m) => /image berth\/app:\w+ reused/.test(m)),
      again.messages.join('\n'),
    );
    assert.ok(!again.messages.some((m) => /^build /.test(m)), 'nothing is built');

    // A change no earlier run made, so the engine cannot have the new app layer already.
    const version = `v2-${process.pid}-${Date.now()}`;
    writeFileSync(script.scoringScript!, echoScript.replace('ok: true', `ok: "${version}"`));
    const changed = recorder();
    const started = Date.now();
    handle = await target.update(handle, script, changed.progress);
    const took = Date.now() - started;
    assert.ok(changed.messages.some((m) => m.startsWith('image server layer reused')));
    assert.ok(changed.messages.some((m) => m.startsWith('image model layer reused')));
    assert.ok(changed.messages.some((m) => m.startsWith('build app: Step')));
    assert.ok(!changed.messages.some((m) => /^build (server|model):/.test(m)), changed.messages.join('\n'));
    assert.ok(took < 30_000, `a code-only redeploy took ${took} ms`);
    const [replica] = target.currentReplicas(handle);
    const answer = await call(`${replica!.url}/score`, { body: { n: 1 } });
    assert.equal(JSON.parse(answer.body).ok, version);
    await target.remove(handle);
  });

  it('refuses a model over 1 GB, memory over 48 GB and a GPU before building anything', async () => {
    const base = spec({ deploymentName: 'big' });
    const cases: [ResolvedDeployment, RegExp][] = [
      [{ ...base, model: { ...base.model, sizeBytes: 2 * GB } }, /takes models up to 1 GB.*use target kind/],
      [{ ...base, resources: { cpu: 1, memoryBytes: 64 * GB, gpu: 0 } }, /at most 48 GB of memory/],
      [{ ...base, resources: { cpu: 1, memoryBytes: undefined, gpu: 1 } }, /CPU only/],
    ];
    for (const [refused, reason] of cases) {
      const { messages, progress } = recorder();
      await assert.rejects(target.deploy(refused, progress), (error: Error) => {
        assert.ok(hasErrorCode(error, 'INVALID_SPEC'), String(error));
        assert.match(error.message, reason);
        return true;
      });
      assert.deepEqual(messages, [], 'nothing was built or started');
    }
  });

  it('shows the failing step of a failed build', async () => {
    const broken = createContainerTarget({
      kind: 'container',
      name,
      baseImage: 'berth-test-missing/base:none',
      dockerHost: testDockerHost(),
      cacheDir: `${dir.path}/cache`,
    });
    try {
      const { messages, progress } = recorder();
      await assert.rejects(broken.deploy(spec({ deploymentName: 'nobase' }), progress), (error: Error) => {
        assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
        assert.match(error.message, /image build failed at Step 1\/\d+ : FROM berth-test-missing\/base:none/);
        return true;
      });
      assert.ok(messages.some((m) => m.startsWith('build server: Step 1/')));
      const status = await broken.status({ target: name, kind: 'container', id: 'ep/nobase', data: {} });
      assert.equal(status.state, 'Failed');
    } finally {
      await broken.close();
    }
  });

  it('reports an engine that does not answer, with its address', async () => {
    const away = createContainerTarget({ kind: 'container', name, dockerHost: 'tcp://127.0.0.1:1' });
    await assert.rejects(
      away.deploy(spec({ deploymentName: 'away' }), () => undefined),
      (error: Error) => {
        assert.ok(hasErrorCode(error, 'NOT_READY'), String(error));
        assert.match(
          error.message,
          /^Docker Engine at tcp:\/\/127\.0\.0\.1:1 is not reachable: .*ECONNREFUSED/,
        );
        return true;
      },
    );
    await away.close();
  });

  it('fails the deployment with the scoring script init error text', async () => {
    const broken = scriptDeployment(
      dir.path,
      'export function init() { throw new Error("cannot open vocabulary file vocab-42.json"); }\nexport function run() { return 1; }\n',
      { target: name, deploymentName: 'broken' },
    );
    await assert.rejects(
      target.deploy(broken, () => undefined),
      (error: Error) => {
        assert.match(error.message, /vocab-42\.json/);
        return true;
      },
    );
    const handle = { target: name, kind: 'container' as const, id: 'ep/broken', data: {} };
    assert.equal((await target.status(handle)).state, 'Failed');
    await target.remove(handle);
  });

  describe('behind the gateway', () => {
    let gateway: Gateway;
    before(async () => {
      gateway = await startGateway();
    });
    after(async () => gateway.close());

    it('rolls an update with no failed request under load', async () => {
      const rolling = spec({ endpointName: 'roll', deploymentName: 'blue', instanceCount: 2 });
      let handle = await target.deploy(rolling, () => undefined);
      gateway.setEndpoint({
        name: 'roll',
        authMode: 'none',
        keys: undefined,
        traffic: { blue: 100 },
        mirror: {},
        deployments: [
          {
            name: 'blue',
            requestSettings: rolling.requestSettings,
            instanceCount: 2,
            replicas: () => target.currentReplicas(handle),
          },
        ],
      });
      const url = `${gateway.url}/endpoints/roll/score`;
      let running = true;
      const answers: Answer[] = [];
      const clients = Array.from({ length: 4 }, async () => {
        while (running) answers.push(await send(url, { body: { data: [[1, 2, 3]] } }));
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = target.currentReplicas(handle).map((replica) => replica.url);
      handle = await target.update(
        handle,
        { ...rolling, environmentVariables: { VERSION: '2' } },
        () => undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      running = false;
      await Promise.all(clients);
      assert.deepEqual(
        answers.filter((answer) => answer.status !== 200).map((answer) => `${answer.status} ${answer.body}`),
        [],
      );
      assert.ok(answers.length > 20, `only ${answers.length} requests`);
      const after = target.currentReplicas(handle).map((replica) => replica.url);
      assert.equal(after.length, 2);
      assert.ok(after.every((replicaUrl) => !before.includes(replicaUrl)));
      assert.equal(handle.data.generation, 2);
      await target.remove(handle);
    });
  });
});
