/**
 * `berth endpoint show` for deployments on a Kubernetes target, through the real `berth`
 * executable against a real control plane with no node (level 2: test/helpers/kube-cluster.ts).
 * Both deployments' pods stay Pending: their deploys fail with Unschedulable, and `endpoint show`
 * still reports them from the cluster: 0/2 ready, the scheduler's FailedScheduling events on the
 * pods and the Deployment's and ReplicaSet's own, each pod Pending with no restart; the deployment
 * with `scale_settings` has an autoscaler whose conditions are those the controller manager sets
 * with no metrics server (ScalingActive False). `--json` carries the same. Deleting a deployment
 * whose deploy failed removes what it left in the cluster.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EndpointView, KubernetesDetails } from '../../src/core/specs/index.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { createKubernetesTarget, type KubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { runBerth } from '../helpers/cli.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { linearDeployment, linearWorkspace, waitFor, type TestWorkspace } from '../server/helpers.js';

const skip = kubeOrSkip();

describe('berth endpoint show on a kubernetes target (level 2: no node)', { skip }, () => {
  const name = 'kprod';
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  let probe: KubernetesTarget;

  before(async () => {
    cluster = await startKubeCluster();
    ws = await linearWorkspace('k8s-show');
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await workspace.targets.create({
        name,
        kind: 'kubernetes',
        settings: {
          kubeconfig: cluster.kubeconfig,
          namespace: 'default',
          registry: 'registry.example.com/ml',
          buildImage: false,
          cacheDir: join(ws.root, 'k8s-cache'),
          reasonGraceMs: 1_500,
          rolloutTimeoutMs: 60_000,
        },
      });
    } finally {
      await workspace.close();
    }
    probe = createKubernetesTarget({ kind: 'kubernetes', name, kubeconfig: cluster.kubeconfig });
  });
  after(async () => {
    await probe?.close();
    await ws?.cleanup();
    await cluster?.stop();
  });

  async function show(): Promise<EndpointView> {
    const shown = await runBerth(['endpoint', 'show', 'shop', '--json'], { workspace: ws.dir });
    assert.equal(shown.code, 0, shown.stderr);
    return JSON.parse(shown.stdout) as EndpointView;
  }

  const details = (view: EndpointView, deployment: string): KubernetesDetails => {
    const found = view.deployments.find((d) => d.name === deployment)?.kubernetes;
    assert.ok(found, `no kubernetes details for ${deployment}: ${JSON.stringify(view)}`);
    return found;
  };

  it('shows each deployment as the cluster has it: 0/2 ready, FailedScheduling, the HPA with no metrics', async () => {
    const created = await runBerth(['endpoint', 'create', '--name', 'shop'], { workspace: ws.dir });
    assert.equal(created.code, 0, created.stderr);
    const blue = await runBerth(
      [
        'deployment',
        'create',
        '-f',
        await ws.yaml(
          'blue',
          linearDeployment('blue', 'shop').replace('instance_count: 1', 'instance_count: 2'),
        ),
        '--set',
        `target=${name}`,
      ],
      { workspace: ws.dir },
    );
    assert.notEqual(blue.code, 0, blue.stdout);
    assert.match(blue.stderr, /Unschedulable/);
    const green = await runBerth(
      [
        'deployment',
        'create',
        '-f',
        await ws.yaml(
          'green',
          linearDeployment(
            'green',
            'shop',
            'scale_settings:\n  type: target_utilization\n  min_instances: 1\n  max_instances: 3\n  target_utilization_percentage: 60\nresources:\n  requests:\n    cpu: "0.25"\n',
          ),
        ),
        '--set',
        `target=${name}`,
      ],
      { workspace: ws.dir },
    );
    assert.notEqual(green.code, 0, green.stdout);
    assert.match(green.stderr, /Unschedulable/);

    // The scheduler's events, and the autoscaler's first look (its loop runs every 15 s).
    const view = await waitFor(
      'FailedScheduling events on both deployments and the autoscaler conditions',
      async () => {
        const current = await show();
        const ready = ['blue', 'green'].every((deployment) =>
          details(current, deployment).events.some((event) => event.reason === 'FailedScheduling'),
        );
        const hpa = details(current, 'green').autoscaler;
        const active = hpa?.conditions.some((c) => c.type === 'ScalingActive');
        return ready && active === true ? current : undefined;
      },
      90_000,
    );

    const blueDetails = details(view, 'blue');
    assert.equal(view.deployments.find((d) => d.name === 'blue')?.state, 'Failed');
    assert.equal(blueDetails.namespace, 'default');
    assert.equal(blueDetails.name, 'shop-blue');
    assert.deepEqual(blueDetails.replicas, { desired: 2, ready: 0, updated: 2, available: 0 });
    assert.equal(blueDetails.autoscaler, null);
    assert.equal(blueDetails.pods.length, 2);
    for (const pod of blueDetails.pods) {
      assert.equal(pod.phase, 'Pending');
      assert.equal(pod.ready, false);
      assert.equal(pod.restarts, 0);
      assert.equal(pod.node, null);
      assert.equal(pod.lastTermination, null);
      assert.match(pod.reason ?? '', /^Unschedulable: /);
    }
    const failed = blueDetails.events.filter((event) => event.reason === 'FailedScheduling');
    assert.ok(failed.length > 0);
    for (const event of failed) {
      assert.equal(event.type, 'Warning');
      assert.match(event.object, /^Pod\/shop-blue-/);
      assert.match(event.message, /no nodes available to schedule pods/);
      assert.ok(event.count >= 1);
      assert.ok(event.lastSeen !== null && !Number.isNaN(Date.parse(event.lastSeen)));
    }
    const reasons = new Set(
      blueDetails.events.map((event) => `${event.object.split('/')[0]}:${event.reason}`),
    );
    assert.ok(reasons.has('Deployment:ScalingReplicaSet'), [...reasons].join(', '));
    assert.ok(reasons.has('ReplicaSet:SuccessfulCreate'), [...reasons].join(', '));
    assert.ok(blueDetails.events.length <= blueDetails.eventLimit);
    assert.equal(blueDetails.eventLimit, 10);
    // Only blue's objects speak for blue.
    assert.ok(blueDetails.events.every((event) => /\/shop-blue(-|$)/.test(event.object)));
    assert.ok(
      blueDetails.conditions.some((c) => c.type === 'Available' && c.status === 'False'),
      JSON.stringify(blueDetails.conditions),
    );

    const greenDetails = details(view, 'green');
    const hpa = greenDetails.autoscaler;
    assert.ok(hpa !== null);
    assert.equal(hpa.apiVersion, 'autoscaling/v2beta2');
    assert.equal(hpa.name, 'shop-green');
    assert.deepEqual([hpa.minReplicas, hpa.maxReplicas, hpa.targetCpuUtilization], [1, 3, 60]);
    assert.equal(hpa.currentCpuUtilization, null, 'no metrics server: no reading');
    const scalingActive = hpa.conditions.find((c) => c.type === 'ScalingActive');
    assert.equal(scalingActive?.status, 'False', JSON.stringify(hpa.conditions));
    assert.match(scalingActive?.reason ?? '', /^Failed/);
    assert.equal(hpa.conditions.find((c) => c.type === 'AbleToScale')?.status, 'True');
    assert.equal(greenDetails.replicas?.desired, 1);
    assert.equal(greenDetails.pods.length, 1);

    // The text a person reads says the same.
    const text = await runBerth(['endpoint', 'show', 'shop'], { workspace: ws.dir });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^blue +Failed +linear:1 +0\/2 /m);
    assert.match(
      text.stdout,
      /blue on kubernetes:\n +deployment default\/shop-blue\n +replicas: +0 ready \/ 2 desired/,
    );
    assert.match(text.stdout, /shop-blue-\S+ +Pending +no +0 +- +- +Unschedulable: /);
    assert.match(
      text.stdout,
      /\d+[smh] +Warning +FailedScheduling +Pod\/shop-blue-\S+ +\d+ +.*no nodes available/,
    );
    assert.match(
      text.stdout,
      /autoscaler: HorizontalPodAutoscaler shop-green \(autoscaling\/v2beta2\): \S+ current \/ \S+ desired \(min 1, max 3\)/,
    );
    assert.match(text.stdout, /ScalingActive +False +Failed\w+ /);
    const one = await runBerth(['deployment', 'show', 'blue', '--endpoint-name', 'shop'], {
      workspace: ws.dir,
    });
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /replicas: +0 ready \/ 2 desired/);
  });

  it('deleting a deployment whose deploy failed removes what it left in the cluster', async () => {
    const handle = { target: name, kind: 'kubernetes' as const, id: 'shop/blue', data: {} };
    assert.ok((await probe.leftovers(handle)).length > 0);
    const deleted = await runBerth(['deployment', 'delete', 'blue', '--endpoint-name', 'shop'], {
      workspace: ws.dir,
    });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(await probe.leftovers(handle), []);
    const view = await show();
    assert.deepEqual(
      view.deployments.map((d) => d.name),
      ['green'],
    );
  });
});
