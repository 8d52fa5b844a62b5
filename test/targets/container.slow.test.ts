/**
 * The container target against a real Docker Engine: images built through the Engine API from a
 * base made on this machine (no registry is reachable), containers on loopback ports, real ONNX
 * Runtime inside. Outside CI a missing engine skips the suite with a message; in CI it fails.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { createContainerTarget, type ContainerTarget } from '../../src/targets/container/index.js';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import {
  createTestContainerTarget,
  dockerOrSkip,
  labelledContainers,
  testDockerHost,
  testEngine,
} from '../fixtures/docker-base-image.js';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import { send } from '../helpers/http.js';
import { echoScript, linearDeployment, scriptDeployment, tempDir } from './helpers.js';

const GB = 1024 ** 3;
const skip = await dockerOrSkip();

function recorder(): { messages: string[]; progress: (message: string) => void } {
  const messages: string[] = [];
  return { messages, progress: (message) => messages.push(message) };
}

describe('container target', { skip }, () => {
  const dir = tempDir('container-target');
  const name = `ct${process.pid}`;
  let fixture: Awaited<ReturnType<typeof createTestContainerTarget>> | undefined;
  let target: ContainerTarget;
  const spec = (overrides: Partial<ResolvedDeployment> = {}): ResolvedDeployment =>
    linearDeployment(dir.path, { target: name, ...overrides });

  before(async () => {
    fixture = await createTestContainerTarget(name);
    target = fixture.target;
  });
  after(async () => {
    await fixture?.cleanup();
    dir.remove();
  });

  it('runs containers with limits and labels, reuses the image, and rebuilds only the code layer after a code change', async () => {
    const script = scriptDeployment(dir.path, echoScript, {
      target: name,
      deploymentName: 'code',
      resources: { cpu: 0.5, memoryBytes: 256 * 1024 ** 2, gpu: 0 },
    });
    const first = recorder();
    let handle = await target.deploy(script, first.progress);
    assert.ok(
      first.messages.some((m) => /1 container\(s\) ready/.test(m)),
      first.messages.join('\n'),
    );
    const [served] = target.currentReplicas(handle);
    assert.match(served?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    const ids = (handle.data.replicas as { container: string }[]).map((replica) => replica.container);
    const info = await testEngine().getContainer(ids[0]!).inspect();
    assert.equal(info.HostConfig.NanoCpus, 0.5e9);
    assert.equal(info.HostConfig.Memory, 256 * 1024 ** 2);
    assert.equal(info.HostConfig.PortBindings['5001/tcp'][0].HostIp, '127.0.0.1');
    assert.equal(info.Config.Labels['berth.endpoint'], 'ep');
    assert.equal(info.Config.Labels['berth.deployment'], 'code');
    assert.ok(info.Config.Healthcheck?.Test?.includes('node'));
    await target.remove(handle);
    assert.deepEqual(await labelledContainers(name, [handle]), []);

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
    // Only the app layer is built again (the messages say so); how long that takes is
    // bench:deploy's to measure, not a test's.
    handle = await target.update(handle, script, changed.progress);
    assert.ok(changed.messages.some((m) => m.startsWith('image server layer reused')));
    assert.ok(changed.messages.some((m) => m.startsWith('image model layer reused')));
    assert.ok(changed.messages.some((m) => m.startsWith('build app: Step')));
    assert.ok(!changed.messages.some((m) => /^build (server|model):/.test(m)), changed.messages.join('\n'));
    const [replica] = target.currentReplicas(handle);
    const answer = await send(`${replica!.url}/score`, {
      body: { n: 1 },
      headers: { [REPLICA_TOKEN_HEADER]: replica!.token ?? '' },
    });
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
      cacheDir: target.config.cacheDir,
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
});
