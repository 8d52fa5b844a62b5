/**
 * The container target: `createContainerTarget({ kind: 'container' })` runs each deployment's
 * replicas as containers on a Docker Engine, from an image built out of the deployment. See README.md.
 */
import { resolveContainerTargetConfig, type ContainerTargetConfig } from './config.js';
import { ContainerTarget } from './target.js';

export {
  containerTargetConfigSchema,
  defaultBaseImage,
  defaultDockerHost,
  resolveContainerTargetConfig,
} from './config.js';
export type { ContainerTargetConfig, ResolvedContainerTargetConfig } from './config.js';
export { ContainerTarget } from './target.js';
export type { ContainerTargetState } from './target.js';
export { packageImage, writeBuildContext } from './package.js';
export type { PackageResult } from './package.js';

export function createContainerTarget(config: ContainerTargetConfig): ContainerTarget {
  return new ContainerTarget(resolveContainerTargetConfig(config));
}
