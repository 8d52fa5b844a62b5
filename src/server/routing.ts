/**
 * Keeps the gateway in step with the store: after every change to an endpoint or one of its
 * deployments, the endpoint's whole config is rebuilt and set. Replicas are read live from the
 * target on every request (`currentReplicas`), so a rolling update needs no call here.
 */
import type { GatewayDeployment } from '../endpoints/types.js';
import type { DeploymentHandle, ReplicaStatus } from '../targets/target.js';
import type { DeploymentRecord } from '../workspace/index.js';
import { storedSettings, storedSpec, type ControlPlaneState } from './state.js';

interface LiveReplicas {
  currentReplicas(handle: DeploymentHandle): ReplicaStatus[];
}

function hasLiveReplicas(target: unknown): target is LiveReplicas {
  return typeof (target as Partial<LiveReplicas>).currentReplicas === 'function';
}

export function isHandle(value: unknown): value is DeploymentHandle {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

async function gatewayDeployment(
  state: ControlPlaneState,
  record: DeploymentRecord,
): Promise<GatewayDeployment> {
  const settings = storedSettings(storedSpec(record));
  const handle = record.handle;
  // A target that cannot be opened (e.g. its record was deleted) serves no replicas.
  const target = await state.targets.get(record.target).catch(() => undefined);
  return {
    name: record.deploymentName,
    requestSettings: {
      requestTimeoutMs: settings.requestSettings.requestTimeoutMs,
      maxConcurrentRequestsPerInstance: settings.requestSettings.maxConcurrentRequestsPerInstance,
    },
    instanceCount: settings.instanceCount,
    replicas: () => (isHandle(handle) && hasLiveReplicas(target) ? target.currentReplicas(handle) : []),
  };
}

export async function syncEndpoint(state: ControlPlaneState, name: string): Promise<void> {
  const endpoint = await state.store.getEndpoint(name);
  if (endpoint === undefined) {
    state.gateway.removeEndpoint(name);
    return;
  }
  const deployments = await state.store.listDeployments({ endpointName: name });
  state.gateway.setEndpoint({
    name,
    authMode: endpoint.authMode,
    keys: { primary: endpoint.keys.primaryKey, secondary: endpoint.keys.secondaryKey },
    traffic: endpoint.traffic,
    mirror: endpoint.mirror,
    deployments: await Promise.all(deployments.map((record) => gatewayDeployment(state, record))),
  });
}
