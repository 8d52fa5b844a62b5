/**
 * The Kubernetes row of bench:deploy where pods run (level 3: test/helpers/kube-cluster.ts with a
 * node, a loopback registry): deploy() from its start to the rollout Available, seen through
 * watches. `first`: the image is built (on the warm Docker cache), pushed, pulled by the node and
 * run; `again`: the same deployment once more after a removal (the image already in the registry
 * and on the node): apply to Available alone. Undefined when no node can run here, with the reason.
 */
import { createKubernetesTarget } from '../../src/targets/kubernetes/index.js';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import { kubeOrSkip, startKubeCluster } from '../../test/helpers/kube-cluster.js';
import { kubeNodeMissing } from '../../test/helpers/kube-node.js';

export interface ApplyToAvailable {
  first: number;
  again: number[];
}

export async function kubernetesApplyToAvailable(
  spec: ResolvedDeployment,
  runs: number,
  cacheDir: string,
  baseImage: string,
): Promise<ApplyToAvailable | string> {
  if (kubeOrSkip() !== undefined) return 'no control plane built here';
  const missing = kubeNodeMissing();
  if (missing !== undefined) return missing;
  const cluster = await startKubeCluster({ node: true });
  const target = createKubernetesTarget({
    kind: 'kubernetes',
    name: 'bench',
    kubeconfig: cluster.kubeconfig,
    registry: `${cluster.node!.registry}/berth`,
    baseImage,
    cacheDir,
    rolloutTimeoutMs: 300_000,
  });
  try {
    const benchSpec = { ...spec, target: 'bench' };
    const timed = async (): Promise<number> => {
      const started = performance.now();
      const handle = await target.deploy(benchSpec, () => undefined);
      const took = performance.now() - started;
      await target.remove(handle);
      return took;
    };
    const first = await timed();
    const again: number[] = [];
    for (let run = 0; run < runs; run += 1) again.push(await timed());
    return { first, again };
  } finally {
    await target.close();
    await cluster.stop();
  }
}
