/** A local replica's environment: berth's own, the deployment's variables, and Azure-compatible names. */
import { REPLICA_TOKEN_ENV } from '../../scoring/auth.js';
import { MEMORY_LIMIT_ENV } from '../../scoring/memory-limit.js';
import { replicaMemory } from '../shared/replica-limits.js';
import type { ResolvedDeployment } from '../target.js';

/**
 * The replica token is the secret only the gateway and this replica share (the scoring server
 * answers 401 to a scoring request without it); the memory limit is the whole-process limit the
 * scoring server holds itself to. Both come last, so no deployment variable can override them.
 */
export function replicaEnvironment(
  spec: ResolvedDeployment,
  replicaId: string,
  replicaToken: string,
): Record<string, string | undefined> {
  return {
    ...process.env,
    AZUREML_MODEL_DIR: spec.model.modelDir,
    BERTH_MODEL_DIR: spec.model.modelDir,
    BERTH_ENDPOINT: spec.endpointName,
    BERTH_DEPLOYMENT: spec.deploymentName,
    BERTH_REPLICA: replicaId,
    ...spec.environmentVariables,
    [MEMORY_LIMIT_ENV]: String(replicaMemory(spec).bytes),
    [REPLICA_TOKEN_ENV]: replicaToken,
  };
}
