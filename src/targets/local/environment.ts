/** A local replica's environment: berth's own, the deployment's variables, and Azure-compatible names. */
import type { ResolvedDeployment } from '../target.js';

export function replicaEnvironment(
  spec: ResolvedDeployment,
  replicaId: string,
): Record<string, string | undefined> {
  return {
    ...process.env,
    AZUREML_MODEL_DIR: spec.model.modelDir,
    BERTH_MODEL_DIR: spec.model.modelDir,
    BERTH_ENDPOINT: spec.endpointName,
    BERTH_DEPLOYMENT: spec.deploymentName,
    BERTH_REPLICA: replicaId,
    ...spec.environmentVariables,
  };
}
