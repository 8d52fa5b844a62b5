/**
 * The Kubernetes target: `createKubernetesTarget({ kind: 'kubernetes', namespace: 'ml' })` applies
 * each deployment to the cluster the kubeconfig reaches as Kubernetes objects. See README.md.
 */
import { resolveKubernetesTargetConfig, type KubernetesTargetConfig } from './config.js';
import { KubernetesTarget } from './target.js';

export { defaultKubeconfig, kubernetesTargetConfigSchema, resolveKubernetesTargetConfig } from './config.js';
export type { KubernetesTargetConfig, ResolvedKubernetesTargetConfig } from './config.js';
export { chooseApis, currentApis } from './discovery.js';
export type { ServedApis } from './discovery.js';
export { deploymentManifests } from './manifests.js';
export type { Manifests } from './manifests.js';
export { writeManifests } from './write.js';
export { KubernetesTarget } from './target.js';

export function createKubernetesTarget(config: KubernetesTargetConfig): KubernetesTarget {
  return new KubernetesTarget(resolveKubernetesTargetConfig(config));
}
export { berthRbac, berthRoleRules } from './rbac.js';
