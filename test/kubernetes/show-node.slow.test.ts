/**
 * `berth endpoint show` on a Kubernetes target with a node where pods run (level 3:
 * test/helpers/kube-cluster.ts with `node: true`). The deployment's container is killed on the
 * node (SIGKILL to every process in its cgroup, as an OOM kill or a crash would end it); the
 * kubelet restarts it, and `endpoint show` gives the pod its restart and its last termination
 * (exit code 137) as the kubelet wrote them, with the pod ready again.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EndpointView, KubernetesDetails } from '../../src/core/specs/index.js';
import { Workspace } from '../../src/sdk/workspace.js';
import { createKubernetesTarget, type KubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { dockerOrSkip, ensureTestBaseImage } from '../fixtures/docker-base-image.js';
import { runBerth } from '../helpers/cli.js';
import { kubeOrSkip, startKubeCluster, type KubeCluster } from '../helpers/kube-cluster.js';
import { kubeNodeMissing } from '../helpers/kube-node.js';
import { linearDeployment, linearWorkspace, waitFor, type TestWorkspace } from '../server/helpers.js';

function nodeOrSkip(): string | undefined {
  const missing = kubeNodeMissing();
  if (missing === undefined) return undefined;
  const why = `no Kubernetes node can run here: ${missing}`;
  if (process.env.CI === 'true') throw new Error(`${why}: CI must provide one`);
  console.log(`# ${why}: level-3 tests skipped`);
  return why;
}

const skip = kubeOrSkip() ?? nodeOrSkip() ?? (await dockerOrSkip());

/** The host pids in the cgroup of container `id` (the kubelet's cgroupfs paths name it). */
function pidsOfContainer(id: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join('/proc', entry, 'cgroup'), 'utf8').includes(id)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

describe('berth endpoint show with a node: restarts per pod (level 3)', { skip }, () => {
  const name = `k8s-show-node-${process.pid}`;
  let cluster: KubeCluster;
  let ws: TestWorkspace;
  let probe: KubernetesTarget;

  before(async () => {
    cluster = await startKubeCluster({ node: true });
    const baseImage = await ensureTestBaseImage();
    ws = await linearWorkspace('k8s-show-node');
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await workspace.targets.create({
        name,
        kind: 'kubernetes',
        settings: {
          kubeconfig: cluster.kubeconfig,
          registry: `${cluster.node!.registry}/berth`,
          baseImage,
          cacheDir: join(ws.root, 'k8s-cache'),
          rolloutTimeoutMs: 180_000,
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

  async function details(): Promise<KubernetesDetails> {
    const shown = await runBerth(['endpoint', 'show', 'shop', '--json'], { workspace: ws.dir });
    assert.equal(shown.code, 0, shown.stderr);
    const found = (JSON.parse(shown.stdout) as EndpointView).deployments[0]?.kubernetes;
    assert.ok(found, shown.stdout);
    return found;
  }

  it('counts a restart after the container is killed on the node, with its last termination', async () => {
    assert.equal((await runBerth(['endpoint', 'create', '--name', 'shop'], { workspace: ws.dir })).code, 0);
    const created = await runBerth(
      [
        'deployment',
        'create',
        '-f',
        await ws.yaml('blue', linearDeployment('blue', 'shop')),
        '--set',
        `target=${name}`,
      ],
      { workspace: ws.dir },
    );
    assert.equal(created.code, 0, `${created.stdout}\n${created.stderr}`);

    const first = await details();
    assert.deepEqual(first.replicas, { desired: 1, ready: 1, updated: 1, available: 1 });
    assert.equal(first.pods.length, 1);
    const pod = first.pods[0]!;
    assert.deepEqual([pod.phase, pod.ready, pod.restarts, pod.lastTermination], ['Running', true, 0, null]);
    assert.equal(pod.node, cluster.node!.name);
    assert.ok(first.events.some((event) => event.reason === 'Started' && event.object === `Pod/${pod.name}`));

    const [object] = await probe.connect().list('v1', 'Pod', 'berth.dev/deployment=blue');
    const containerId = (
      object?.status as { containerStatuses?: { containerID?: string }[] } | undefined
    )?.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, '');
    assert.ok(containerId, JSON.stringify(object?.status));
    const pids = pidsOfContainer(containerId);
    assert.ok(pids.length > 0, `no process of container ${containerId} found on the node`);
    for (const pid of pids) process.kill(pid, 'SIGKILL');

    const restarted = await waitFor(
      'the pod restarted and ready again',
      async () => {
        const current = await details();
        const again = current.pods.find((p) => p.name === pod.name);
        return again !== undefined && again.restarts >= 1 && again.ready ? current : undefined;
      },
      120_000,
    );
    const again = restarted.pods.find((p) => p.name === pod.name)!;
    assert.equal(again.restarts, 1);
    assert.equal(again.phase, 'Running');
    assert.equal(again.lastTermination?.exitCode, 137);
    assert.equal(again.lastTermination?.reason, 'Error');
    assert.ok(again.lastTermination?.finishedAt !== null);

    const text = await runBerth(['endpoint', 'show', 'shop'], { workspace: ws.dir });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`${pod.name} +Running +yes +1 +Error \\(exit 137\\) \\d+[sm] ago +${cluster.node!.name}`),
    );

    await runBerth(['deployment', 'delete', 'blue', '--endpoint-name', 'shop'], { workspace: ws.dir });
  });
});
