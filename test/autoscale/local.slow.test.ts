/**
 * The autoscaler with real local replicas behind the real gateway, under bounded load: scale out
 * and never past max_instances, scale in with no failed request, scale from zero with requests
 * held (and 503 with Retry-After when the hold runs out), and a crashing replica not counted as
 * capacity. Polling is fast (0.2 s) so each case takes seconds; assertions wait generously.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TargetUtilization } from '../../src/core/specs/scale-settings.js';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import type { GatewayDeployment } from '../../src/endpoints/types.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { DeploymentHandle, ResolvedDeployment, ScalingStatus } from '../../src/targets/target.js';
import { failures, send, sleep, steadyLoad } from '../helpers/http.js';
import { echoScript, noProgress, scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';

const fast: TargetUtilization = {
  type: 'target_utilization',
  minInstances: 1,
  maxInstances: 3,
  targetUtilizationPercentage: 50,
  pollingIntervalMs: 200,
  scaleUpDelayMs: 400,
  scaleDownDelayMs: 1000,
  idleTimeoutMs: 1500,
};

describe('autoscaling on the local target', () => {
  const dir = tempDir('autoscale-local');
  const target = createLocalTarget({ kind: 'local', logsDir: `${dir.path}/logs` });
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    await gateway.close();
    await target.close();
    dir.remove();
  });

  function deployment(name: string, scale: TargetUtilization, source = echoScript): ResolvedDeployment {
    return scriptDeployment(dir.path, source, {
      endpointName: 'auto',
      deploymentName: name,
      instanceCount: 1,
      requestSettings: { requestTimeoutMs: 10_000, maxConcurrentRequestsPerInstance: 2, maxQueueWaitMs: 500 },
      scaleSettings: scale,
    });
  }

  /** Puts the deployment behind the gateway as the control plane does (routing.ts). */
  function route(on: Gateway, spec: ResolvedDeployment, handle: DeploymentHandle): string {
    const scale = spec.scaleSettings as TargetUtilization;
    const entry: GatewayDeployment = {
      name: spec.deploymentName,
      requestSettings: spec.requestSettings,
      instanceCount: scale.maxInstances,
      replicas: () => target.currentReplicas(handle),
      ...(scale.minInstances === 0
        ? { awaitReplica: (timeoutMs: number) => target.awaitReplica(handle, timeoutMs) }
        : {}),
    };
    on.setEndpoint({
      name: `auto-${spec.deploymentName}`,
      authMode: 'none',
      keys: undefined,
      traffic: { [spec.deploymentName]: 100 },
      mirror: {},
      deployments: [entry],
    });
    return `${on.url}/endpoints/auto-${spec.deploymentName}/score`;
  }

  async function scaling(handle: DeploymentHandle): Promise<ScalingStatus> {
    const status = await target.status(handle);
    assert.ok(status.scaling !== undefined, 'an autoscaled deployment reports scaling');
    return status.scaling;
  }

  it('scales out under load up to max_instances, then in with no failed request', async () => {
    const spec = deployment('out', fast);
    const handle = await target.deploy(spec, noProgress);
    const url = route(gateway, spec, handle);
    // Never more replicas alive than max_instances, sampled all along.
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, target.currentReplicas(handle).length);
        await sleep(50);
      }
    })();
    // 4 clients on 2 slots per replica: 200% on one replica, the load needs 4 at 50%: max 3.
    const heavy = steadyLoad(() => send(url, { body: { sleep: 150 } }), { clients: 4, maxMs: 90_000 });
    await waitFor(
      () => target.currentReplicas(handle).filter((r) => r.state === 'ready').length === 3,
      60_000,
      '3 ready replicas',
    );
    const out = await scaling(handle);
    assert.equal(out.desired, 3);
    assert.match(out.lastDecision?.reason ?? '', /above target 50%/);
    await sleep(1500);
    const heavyAnswers = await heavy.stop();
    // One client keeps going while the replicas drain one by one.
    const light = steadyLoad(() => send(url, { body: { sleep: 20 } }), { clients: 1, maxMs: 60_000 });
    await waitFor(() => target.currentReplicas(handle).length === 1, 45_000, 'scale in to 1 replica');
    await sleep(500);
    const lightAnswers = await light.stop();
    sampling = false;
    await sampler;
    assert.ok(most <= 3, `at most max_instances replicas, saw ${most}`);
    assert.deepEqual(failures(heavyAnswers), [], 'no request failed under the heavy load');
    assert.deepEqual(failures(lightAnswers), [], 'no request failed while replicas drained');
    assert.ok(lightAnswers.length > 10);
    const served = new Set(heavyAnswers.map((answer) => JSON.parse(answer.body).pid as number));
    assert.ok(served.size >= 2, 'the added replicas served');
    const back = await scaling(handle);
    assert.equal(back.desired, 1);
    assert.match(back.lastDecision?.reason ?? '', /removing one/);
    assert.equal((await target.status(handle)).state, 'Healthy');
    await target.remove(handle);
  });

  it('scales to zero when idle, holds the next requests while a replica starts, and answers them', async () => {
    const spec = deployment('zero', { ...fast, minInstances: 0, maxInstances: 2 });
    const handle = await target.deploy(spec, noProgress);
    const url = route(gateway, spec, handle);
    assert.equal((await send(url, { body: { n: 0 } })).status, 200);
    await waitFor(() => target.currentReplicas(handle).length === 0, 30_000, 'scale to zero');
    const idle = await scaling(handle);
    assert.equal(idle.replicas, 0);
    assert.equal(idle.desired, 0);
    assert.match(idle.lastDecision?.reason ?? '', /idle_timeout/);
    const zeroStatus = await target.status(handle);
    assert.equal(zeroStatus.state, 'Healthy');
    assert.equal(zeroStatus.reason, 'scaled to zero: the next request starts a replica');

    const answers = await Promise.all([1, 2, 3].map((n) => send(url, { body: { n } })));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200],
    );
    const woken = await scaling(handle);
    assert.equal(woken.lastDecision?.from, 0);
    assert.match(woken.lastDecision?.reason ?? '', /a request is waiting/);

    // A hold shorter than a start: 503 with Retry-After, and a replica is still started.
    await waitFor(() => target.currentReplicas(handle).length === 0, 30_000, 'scale to zero again');
    const impatient = await startGateway({ coldStartHoldMs: 1 });
    try {
      const refused = await send(route(impatient, spec, handle), { body: { n: 4 } });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.body, /no replica ready after 1 ms/);
    } finally {
      await impatient.close();
    }
    await waitFor(() => target.currentReplicas(handle).length === 1, 30_000, 'the woken replica');
    await target.remove(handle);
  });

  it('does not count a crashing replica as capacity', async () => {
    // Replica 1 of the first generation kills its own process shortly after every start.
    const crashing = [
      'export async function init() {',
      '  if (process.env.BERTH_REPLICA && process.env.BERTH_REPLICA.endsWith("-1-1")) {',
      '    setTimeout(() => process.kill(process.pid, "SIGKILL"), 300);',
      '  }',
      '}',
      'export async function run(input) {',
      '  await new Promise((resolve) => setTimeout(resolve, (input && input.sleep) || 0));',
      '  return { pid: process.pid, replica: process.env.BERTH_REPLICA };',
      '}',
    ].join('\n');
    const spec = {
      ...deployment(
        'crash',
        { ...fast, minInstances: 2, maxInstances: 3, targetUtilizationPercentage: 40 },
        crashing,
      ),
      instanceCount: 2,
    };
    const handle = await target.deploy(spec, noProgress);
    const url = route(gateway, spec, handle);
    const load = steadyLoad(() => send(url, { body: { sleep: 150 } }), { clients: 2, maxMs: 60_000 });
    try {
      await waitFor(async () => (await scaling(handle)).desired === 3, 45_000, 'a third replica');
    } finally {
      await load.stop();
    }
    const status = await scaling(handle);
    assert.match(status.lastDecision?.reason ?? '', /not ready, not counted as capacity/);
    await target.remove(handle);
  });
});
