/**
 * The autoscaler on the ssh target, with real replicas on the test's sshd (the "remote" machine)
 * behind the real gateway, under bounded load: scale out and never past max_instances, scale in
 * with no failed request (and nothing left on the machine of the replicas removed), scale from
 * zero with requests held (and 503 with Retry-After when the hold runs out), and a crashing
 * replica not counted as capacity. Polling is fast (0.2 s); assertions wait generously, since each
 * replica starts over SSH.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TargetUtilization } from '../../src/core/specs/scale-settings.js';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import type { GatewayDeployment } from '../../src/endpoints/types.js';
import type { DeploymentHandle, ResolvedDeployment, ScalingStatus } from '../../src/targets/target.js';
import { failures, send, sleep, steadyLoad } from '../helpers/http.js';
import { sshdMissing } from '../helpers/sshd.js';
import { sshFixture, type SshFixture } from '../targets/ssh/fixture.js';
import { echoScript, noProgress, scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';

const fast: TargetUtilization = {
  type: 'target_utilization',
  minInstances: 1,
  maxInstances: 3,
  targetUtilizationPercentage: 50,
  pollingIntervalMs: 200,
  scaleUpDelayMs: 400,
  scaleDownDelayMs: 1000,
  idleTimeoutMs: 2000,
};

describe('autoscaling on the ssh target', { skip: sshdMissing(), concurrency: 1 }, () => {
  const dir = tempDir('autoscale-ssh');
  let fixture: SshFixture;
  let gateway: Gateway;
  before(async () => {
    fixture = await sshFixture('auto-box');
    gateway = await startGateway();
  });
  after(async () => {
    await gateway?.close();
    await fixture?.cleanup();
    dir.remove();
  });

  function deployment(name: string, scale: TargetUtilization, source = echoScript): ResolvedDeployment {
    return scriptDeployment(dir.path, source, {
      target: 'auto-box',
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
      replicas: () => fixture.target.currentReplicas(handle),
      ...(scale.minInstances === 0
        ? { awaitReplica: (timeoutMs: number) => fixture.target.awaitReplica(handle, timeoutMs) }
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
    const status = await fixture.target.status(handle);
    assert.ok(status.scaling !== undefined, 'an autoscaled deployment reports scaling');
    return status.scaling;
  }

  const ready = (handle: DeploymentHandle): number =>
    fixture.target.currentReplicas(handle).filter((replica) => replica.state === 'ready').length;

  /** Processes on the machine, and files in the deployment's run folder, of these replicas. */
  function remainsOf(deploymentName: string, replicas: readonly string[]): string[] {
    const runDir = join(fixture.workdir, 'run', `auto.${deploymentName}`);
    const files = readdirSync(runDir).filter((file) => replicas.some((id) => file.startsWith(`${id}.`)));
    const processes = fixture
      .leftovers([`auto/${deploymentName}`])
      .filter((line) => !line.startsWith('file ') && replicas.some((id) => line.includes(`/${id}.json`)));
    return [...processes, ...files];
  }

  it('scales out under load up to max_instances, then in with no failed request and nothing left of the removed replicas', async () => {
    const spec = deployment('out', fast);
    // max_instances must fit the machine: four replicas per core.
    await assert.rejects(
      fixture.target.deploy({ ...spec, scaleSettings: { ...fast, maxInstances: 10_000 } }, noProgress),
      /scale_settings\.max_instances 10000 is more than target "auto-box" can hold, at most \d+ replica\(s\) \(\d+ core\(s\) on .* × 4 = \d+\)/,
    );
    const handle = await fixture.target.deploy(spec, noProgress);
    const url = route(gateway, spec, handle);
    // Never more replicas serving than max_instances, sampled all along; and every replica seen.
    let most = 0;
    const seen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const replicas = fixture.target.currentReplicas(handle);
        most = Math.max(most, replicas.length);
        for (const replica of replicas) seen.add(replica.id);
        await sleep(50);
      }
    })();
    // 4 clients on 2 slots per replica: 200% on one replica, the load needs 4 at 50%: max 3.
    const heavy = steadyLoad(() => send(url, { body: { sleep: 150 } }), { clients: 4, maxMs: 120_000 });
    try {
      await waitFor(() => ready(handle) === 3, 90_000, '3 ready replicas');
    } catch (error) {
      await heavy.stop();
      throw error;
    }
    const out = await scaling(handle);
    assert.equal(out.desired, 3);
    assert.match(out.lastDecision?.reason ?? '', /above target 50%/);
    await sleep(1500);
    const heavyAnswers = await heavy.stop();
    const served = new Set(heavyAnswers.map((answer) => JSON.parse(answer.body).pid as number));
    // One client keeps going while the replicas drain one by one.
    const light = steadyLoad(() => send(url, { body: { sleep: 20 } }), { clients: 1, maxMs: 90_000 });
    try {
      await waitFor(() => fixture.target.currentReplicas(handle).length === 1, 60_000, 'scale in to 1');
      await sleep(500);
    } finally {
      sampling = false;
      await sampler;
    }
    const lightAnswers = await light.stop();
    assert.ok(most <= 3, `at most max_instances replicas, saw ${most}`);
    assert.deepEqual(failures(heavyAnswers), [], 'no request failed under the heavy load');
    assert.deepEqual(failures(lightAnswers), [], 'no request failed while replicas drained');
    assert.ok(lightAnswers.length > 10);
    assert.ok(served.size >= 2, `the added replicas served (servers seen: ${served.size})`);
    const back = await scaling(handle);
    assert.equal(back.desired, 1);
    assert.match(back.lastDecision?.reason ?? '', /removing one/);
    assert.equal((await fixture.target.status(handle)).state, 'Healthy');
    // The replicas scaled in left no server, no supervisor and no file on the machine.
    const kept = new Set(fixture.target.currentReplicas(handle).map((replica) => replica.id));
    const removed = [...seen].filter((id) => !kept.has(id));
    assert.equal(removed.length, 2, `two replicas removed (seen: ${[...seen].join(', ')})`);
    await waitFor(() => remainsOf('out', removed).length === 0, 20_000, 'the removed replicas gone');
    // The decisions are in the deployment's logs, beside the replicas' lines.
    const logs: string[] = [];
    for await (const line of fixture.target.logs(handle, { lines: 200, follow: false })) {
      if (line.replica === 'autoscaler') logs.push(line.text);
    }
    assert.match(logs.at(-1) ?? '', /^autoscale: 2 → 1 replica\(s\): .*removing one/, logs.join('\n'));
    await fixture.target.remove(handle);
    assert.deepEqual(fixture.leftovers(['auto/out']), []);
  });

  it('scales to zero when idle, stopping the remote replicas, holds the next requests while one starts, and answers them', async () => {
    const spec = deployment('zero', { ...fast, minInstances: 0, maxInstances: 2 });
    const handle = await fixture.target.deploy(spec, noProgress);
    const url = route(gateway, spec, handle);
    assert.equal((await send(url, { body: { n: 0 } })).status, 200);
    const first = fixture.target.currentReplicas(handle).map((replica) => replica.id);
    await waitFor(() => fixture.target.currentReplicas(handle).length === 0, 45_000, 'scale to zero');
    const idle = await scaling(handle);
    assert.equal(idle.replicas, 0);
    assert.equal(idle.desired, 0);
    assert.match(idle.lastDecision?.reason ?? '', /idle_timeout/);
    const zeroStatus = await fixture.target.status(handle);
    assert.equal(zeroStatus.state, 'Healthy');
    assert.equal(zeroStatus.reason, 'scaled to zero: the next request starts a replica');
    // Nothing of the stopped replica runs on the machine.
    await waitFor(() => remainsOf('zero', first).length === 0, 20_000, 'the idle replica gone');

    const answers = await Promise.all([1, 2, 3].map((n) => send(url, { body: { n } })));
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [200, 200, 200],
      answers.map((answer) => answer.body).join('\n'),
    );
    const woken = await scaling(handle);
    assert.equal(woken.lastDecision?.from, 0);
    assert.match(woken.lastDecision?.reason ?? '', /a request is waiting/);

    // A hold shorter than a start: 503 with Retry-After, and a replica is still started.
    await waitFor(() => fixture.target.currentReplicas(handle).length === 0, 45_000, 'scale to zero again');
    const impatient = await startGateway({ coldStartHoldMs: 1 });
    try {
      const refused = await send(route(impatient, spec, handle), { body: { n: 4 } });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['retry-after'], '1');
      assert.match(refused.body, /no replica ready after 1 ms/);
    } finally {
      await impatient.close();
    }
    await waitFor(() => ready(handle) === 1, 45_000, 'the woken replica');
    await fixture.target.remove(handle);
    assert.deepEqual(fixture.leftovers(['auto/zero']), []);
  });

  it('does not count a crashing replica as capacity', async () => {
    // Replica 1 of the first generation kills its own server shortly after the first request of
    // every start (not at init: its start over SSH must pass the readiness probe first).
    const crashing = [
      'let armed = false;',
      'export async function init() {}',
      'export async function run(input) {',
      '  if (!armed && (process.env.BERTH_REPLICA ?? "").endsWith("-1-1")) {',
      '    armed = true;',
      '    setTimeout(() => process.kill(process.pid, "SIGKILL"), 300);',
      '  }',
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
    const handle = await fixture.target.deploy(spec, noProgress);
    const url = route(gateway, spec, handle);
    const load = steadyLoad(() => send(url, { body: { sleep: 150 } }), { clients: 2, maxMs: 90_000 });
    try {
      await waitFor(async () => (await scaling(handle)).desired === 3, 60_000, 'a third replica');
    } finally {
      await load.stop();
    }
    const status = await scaling(handle);
    assert.match(status.lastDecision?.reason ?? '', /not ready, not counted as capacity/);
    await fixture.target.remove(handle);
  });
});
