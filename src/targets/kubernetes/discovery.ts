/**
 * Which API versions berth writes, from what the server serves (its discovery document), never
 * fixed to one cluster's version: the HorizontalPodAutoscaler as autoscaling/v2 where served
 * (Kubernetes 1.23+), else v2beta2 (1.12–1.25), else v1 (CPU target only, no behavior); the
 * PodDisruptionBudget as policy/v1 (1.21+), else v1beta1.
 */
import { BerthError } from '../../core/errors.js';

export type HpaVersion = 'autoscaling/v2' | 'autoscaling/v2beta2' | 'autoscaling/v1';
export type PdbVersion = 'policy/v1' | 'policy/v1beta1';

export interface ServedApis {
  hpa: HpaVersion;
  pdb: PdbVersion;
}

const hpaPreference: readonly HpaVersion[] = ['autoscaling/v2', 'autoscaling/v2beta2', 'autoscaling/v1'];
const pdbPreference: readonly PdbVersion[] = ['policy/v1', 'policy/v1beta1'];

/** @param groupVersions every `group/version` the server serves (from /apis), e.g. `autoscaling/v2beta2`. */
export function chooseApis(groupVersions: readonly string[]): ServedApis {
  const served = new Set(groupVersions);
  const hpa = hpaPreference.find((version) => served.has(version));
  const pdb = pdbPreference.find((version) => served.has(version));
  if (hpa === undefined || pdb === undefined) {
    throw new BerthError(
      'INVALID_SPEC',
      `the cluster serves no ${hpa === undefined ? 'autoscaling' : 'policy'} API berth can write (it knows ${[...(hpa === undefined ? hpaPreference : pdbPreference)].join(', ')})`,
    );
  }
  return { hpa, pdb };
}

/** What a manifest written with no cluster to ask (`--dry-run --output`) uses: today's stable versions. */
export const currentApis: ServedApis = { hpa: 'autoscaling/v2', pdb: 'policy/v1' };
