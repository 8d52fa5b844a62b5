/**
 * The Kubernetes target runs the shared conformance suite on a cluster with a node where pods run
 * (level 3: test/helpers/kube-cluster.ts with `node: true`), building berth's image from the test
 * base image and pushing it to the node's loopback registry. Outside CI, missing binaries, no root
 * or no Docker Engine skip it with the reason.
 *
 * A second deploy() adopts the running deployment (redeployAdopts): the control plane redeploys
 * its stored deployments after a restart, and on a cluster they are still there. The rolling
 * update sends its requests straight to the pods the watch shows ready: a pod that is told to stop
 * answers on for its stop delay (BERTH_STOP_DELAY_MS), so the moment between its SIGTERM and the
 * watch's news of it costs no request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { describeObject } from '../../src/targets/kubernetes/objects.js';
import { dockerOrSkip, ensureTestBaseImage } from '../fixtures/docker-base-image.js';
import { kubeOrSkip, startKubeCluster } from '../helpers/kube-cluster.js';
import { kubeNodeMissing } from '../helpers/kube-node.js';
import { describeTargetConformance } from './conformance.js';

const name = `conformance-${process.pid}`;
const noNode = kubeNodeMissing();
let leftovers: ((ids: readonly string[]) => Promise<string[]>) | undefined;

describeTargetConformance(
  'kubernetes',
  async () => {
    const cluster = await startKubeCluster({ node: true });
    const dir = mkdtempSync(join(tmpdir(), 'berth-k8s-conformance-'));
    const target = createKubernetesTarget({
      kind: 'kubernetes',
      name,
      kubeconfig: cluster.kubeconfig,
      registry: `${cluster.node!.registry}/berth`,
      baseImage: await ensureTestBaseImage(),
      cacheDir: join(dir, 'cache'),
      rolloutTimeoutMs: 240_000,
    });
    leftovers = async (ids) =>
      (
        await Promise.all(
          ids.map((id) => target.leftovers({ target: name, kind: 'kubernetes', id, data: {} })),
        )
      )
        .flat()
        .map(describeObject);
    return {
      target,
      async cleanup() {
        await target.close();
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  {
    skip: kubeOrSkip() ?? (noNode === undefined ? await dockerOrSkip() : `no Kubernetes node: ${noNode}`),
    targetName: name,
    redeployAdopts: true,
    leftovers: async (handles) => (await leftovers?.(handles.map((handle) => handle.id))) ?? [],
  },
);
