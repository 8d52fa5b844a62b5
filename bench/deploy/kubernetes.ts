/**
 * The Kubernetes row of bench:deploy, at the level that runs here (a real API server, controller
 * manager and scheduler; no node): from the start of deploy() (server-side dry run, apply) to the
 * scheduler's verdict on the pods, seen through watches (Unschedulable: no node). Where pods run,
 * the row to add is apply to Available. Undefined when the control plane is not built here.
 */
import { createKubernetesTarget } from '../../src/targets/kubernetes/index.js';
import type { ResolvedDeployment } from '../../src/targets/target.js';
import { kubeOrSkip, startKubeCluster } from '../../test/helpers/kube-cluster.js';

export async function kubernetesApplyToScheduled(
  spec: ResolvedDeployment,
  runs: number,
  cacheDir: string,
): Promise<number[] | undefined> {
  if (kubeOrSkip() !== undefined) return undefined;
  const cluster = await startKubeCluster();
  const target = createKubernetesTarget({
    kind: 'kubernetes',
    name: 'bench',
    kubeconfig: cluster.kubeconfig,
    buildImage: false,
    cacheDir,
    reasonGraceMs: 0,
  });
  const times: number[] = [];
  try {
    const benchSpec = { ...spec, target: 'bench' };
    const handle = {
      target: 'bench',
      kind: 'kubernetes' as const,
      id: `${spec.endpointName}/${spec.deploymentName}`,
      data: {},
    };
    for (let run = 0; run < runs; run += 1) {
      const started = performance.now();
      const verdict = await target
        .deploy(benchSpec, () => undefined)
        .then(
          () => 'available',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
      times.push(performance.now() - started);
      if (!/Unschedulable/.test(verdict))
        throw new Error(`expected the scheduler's Unschedulable, got: ${verdict}`);
      await target.remove(handle);
    }
  } finally {
    await target.close();
    await cluster.stop();
  }
  return times;
}
