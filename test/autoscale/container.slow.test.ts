/**
 * The autoscaler on the container target against a real Docker Engine: scale out under load to
 * max_instances with containers added to the serving generation, back in with no failed request,
 * then to zero when idle and up again for a request the gateway holds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TargetUtilization } from '../../src/core/specs/scale-settings.js';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import type { ContainerTarget } from '../../src/targets/container/index.js';
import { createTestContainerTarget, dockerOrSkip } from '../fixtures/docker-base-image.js';
import { failures, send, sleep, steadyLoad } from '../helpers/http.js';
import { echoScript, noProgress, scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';

const skip = await dockerOrSkip();

describe('autoscaling on the container target', { skip }, () => {
  const dir = tempDir('autoscale-container');
  const name = `as${process.pid}`;
  let fixture: Awaited<ReturnType<typeof createTestContainerTarget>> | undefined;
  let target: ContainerTarget;
  let gateway: Gateway;
  before(async () => {
    fixture = await createTestContainerTarget(name);
    target = fixture.target;
    gateway = await startGateway();
  });
  after(async () => {
    await gateway?.close();
    await fixture?.cleanup();
    dir.remove();
  });

  it('scales out to max_instances, in without a failed request, to zero and back for a held request', async () => {
    const scale: TargetUtilization = {
      type: 'target_utilization',
      minInstances: 0,
      maxInstances: 2,
      targetUtilizationPercentage: 50,
      pollingIntervalMs: 250,
      scaleUpDelayMs: 500,
      scaleDownDelayMs: 1000,
      idleTimeoutMs: 3000,
    };
    const spec = scriptDeployment(dir.path, echoScript, {
      target: name,
      endpointName: 'auto',
      deploymentName: 'box',
      requestSettings: { requestTimeoutMs: 10_000, maxConcurrentRequestsPerInstance: 2, maxQueueWaitMs: 500 },
      scaleSettings: scale,
    });
    const handle = await target.deploy(spec, noProgress);
    gateway.setEndpoint({
      name: 'auto',
      authMode: 'none',
      keys: undefined,
      traffic: { box: 100 },
      mirror: {},
      deployments: [
        {
          name: 'box',
          requestSettings: spec.requestSettings,
          instanceCount: scale.maxInstances,
          replicas: () => target.currentReplicas(handle),
          awaitReplica: (timeoutMs) => target.awaitReplica(handle, timeoutMs),
        },
      ],
    });
    const url = `${gateway.url}/endpoints/auto/score`;
    const ready = () => target.currentReplicas(handle).filter((r) => r.state === 'ready').length;

    const heavy = steadyLoad(() => send(url, { body: { sleep: 150 } }), { clients: 4, maxMs: 120_000 });
    let most = 0;
    await waitFor(
      () => {
        most = Math.max(most, target.currentReplicas(handle).length);
        return ready() === 2;
      },
      90_000,
      '2 ready containers',
    );
    await sleep(1000);
    most = Math.max(most, target.currentReplicas(handle).length);
    const heavyAnswers = await heavy.stop();
    assert.equal(most, 2, 'never more than max_instances');
    assert.deepEqual(failures(heavyAnswers), []);

    const light = steadyLoad(() => send(url, { body: { sleep: 20 } }), { clients: 1, maxMs: 60_000 });
    await waitFor(() => target.currentReplicas(handle).length === 1, 45_000, 'scale in to 1 container');
    await sleep(500);
    const lightAnswers = await light.stop();
    assert.deepEqual(failures(lightAnswers), [], 'no request failed while a container drained');

    await waitFor(() => target.currentReplicas(handle).length === 0, 45_000, 'scale to zero');
    const answer = await send(url, { body: { n: 1 } });
    assert.equal(answer.status, 200, answer.body);
    const scaling = (await target.status(handle)).scaling;
    assert.equal(scaling?.lastDecision?.from, 0);
    await target.remove(handle);
  });
});
