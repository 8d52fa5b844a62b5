/**
 * Keeps the gateway in step with the store: after every change to an endpoint or one of its
 * deployments, the endpoint's whole config is rebuilt and set. Replicas are read live from the
 * target on every request (`currentReplicas`), so a rolling update needs no call here. A target
 * that routes the endpoint in a place of its own is told too (target-routing.ts).
 */
import { maxInstances } from '../core/specs/scale-settings.js';
import type { GatewayDeployment } from '../endpoints/types.js';
import type { ComputeTarget, DeploymentHandle, ReplicaStatus } from '../targets/target.js';
import type { DeploymentSettings } from '../core/specs/settings.js';
import type { DeploymentRecord } from '../workspace/index.js';
import { storedSettings, storedSpec, type ControlPlaneState } from './state.js';
import { endpointRouting, routeInTargets } from './target-routing.js';

interface LiveReplicas {
  currentReplicas(handle: DeploymentHandle): ReplicaStatus[];
}

function hasLiveReplicas(target: unknown): target is LiveReplicas {
  return typeof (target as Partial<LiveReplicas>).currentReplicas === 'function';
}

export function isHandle(value: unknown): value is DeploymentHandle {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

/**
 * The handle a deployment is known by on `target`: the stored one, else (a deploy that failed
 * stores none) the contract's `<endpoint>/<deployment>` on a target that finds deployments by id
 * alone (one with details(): kubernetes, by labels), so what a failed deploy left in a cluster is
 * described and removed too.
 */
export function handleOf(record: DeploymentRecord, target: ComputeTarget): DeploymentHandle | undefined {
  if (isHandle(record.handle)) return record.handle;
  if (target.details === undefined) return undefined;
  return {
    target: record.target,
    kind: target.kind,
    id: `${record.endpointName}/${record.deploymentName}`,
    data: {},
  };
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
    // An autoscaled deployment may grow to max_instances: the admission bound is sized for that.
    instanceCount:
      target?.capabilities.autoscale === true
        ? maxInstances(settings.instanceCount, settings.scaleSettings)
        : settings.instanceCount,
    replicas: () => (isHandle(handle) && hasLiveReplicas(target) ? target.currentReplicas(handle) : []),
    ...(isHandle(handle) && scalesToZero(target, settings.scaleSettings)
      ? { awaitReplica: (timeoutMs: number) => target.awaitReplica(handle, timeoutMs) }
      : {}),
  };
}

/** A deployment the target may stop when idle: requests for it are held while a replica starts. */
function scalesToZero(
  target: ComputeTarget | undefined,
  scale: DeploymentSettings['scaleSettings'],
): target is ComputeTarget & Required<Pick<ComputeTarget, 'awaitReplica'>> {
  return (
    target?.awaitReplica !== undefined &&
    target.capabilities.autoscale &&
    scale?.type === 'target_utilization' &&
    scale.minInstances === 0
  );
}

export async function syncEndpoint(state: ControlPlaneState, name: string): Promise<void> {
  const endpoint = await state.store.getEndpoint(name);
  if (endpoint === undefined) {
    state.gateway.removeEndpoint(name);
    await routeInTargets(state, name, undefined);
    return;
  }
  const records = await state.store.listDeployments({ endpointName: name });
  const deployments = await Promise.all(records.map((record) => gatewayDeployment(state, record)));
  state.gateway.setEndpoint({
    name,
    authMode: endpoint.authMode,
    keys: { primary: endpoint.keys.primaryKey, secondary: endpoint.keys.secondaryKey },
    traffic: endpoint.traffic,
    mirror: endpoint.mirror,
    deployments,
  });
  await routeInTargets(state, name, endpointRouting(endpoint, records, deployments));
}
