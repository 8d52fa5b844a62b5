/**
 * Store records + live target status → the API's views. The live status wins while the target
 * knows the deployment; otherwise the stored state (and its reason) is shown. An endpoint's state
 * is read from the deployments that serve its traffic.
 */
import type { DeploymentStateName, DeploymentView, EndpointView } from '../core/specs/index.js';
import { formatModelRef } from '../core/names.js';
import type { DeploymentDetails, DeploymentStatus } from '../targets/target.js';
import type { DeploymentRecord, EndpointRecord } from '../workspace/index.js';
import { handleOf, isHandle } from './routing.js';
import { storedSettings, storedSpec, type ControlPlaneState } from './state.js';

async function liveStatus(
  state: ControlPlaneState,
  record: DeploymentRecord,
): Promise<DeploymentStatus | undefined> {
  // While an operation runs, the stored state (Creating, Transitioning, Deleting) says more.
  if (record.state !== 'Healthy' && record.state !== 'Unhealthy') return undefined;
  if (!isHandle(record.handle)) return undefined;
  try {
    return await (await state.targets.get(record.target)).status(record.handle);
  } catch {
    return undefined;
  }
}

/**
 * What the target's engine says about the deployment (its pods, events, autoscaler), for a
 * target that can tell. A deploy that failed stored no handle: the target is asked under the id
 * the contract gives a failed deployment, since that is when its engine's words matter most.
 */
async function engineDetails(
  state: ControlPlaneState,
  record: DeploymentRecord,
): Promise<DeploymentDetails | undefined> {
  if (record.state === 'Deleting') return undefined;
  try {
    const target = await state.targets.get(record.target);
    const handle = handleOf(record, target);
    if (handle === undefined || target.details === undefined) return undefined;
    return await target.details(handle);
  } catch {
    return undefined;
  }
}

export async function deploymentView(
  state: ControlPlaneState,
  record: DeploymentRecord,
  endpoint: EndpointRecord,
): Promise<DeploymentView> {
  const stored = storedSpec(record);
  const [live, inspected] = await Promise.all([liveStatus(state, record), engineDetails(state, record)]);
  return {
    name: record.deploymentName,
    endpointName: record.endpointName,
    target: record.target,
    model: formatModelRef({ name: record.modelName, version: record.modelVersion }),
    state: live?.state ?? record.state,
    reason: live === undefined ? record.reason : (live.reason ?? null),
    instanceCount: storedSettings(stored).instanceCount,
    replicas: (live?.replicas ?? []).map((replica) => ({
      id: replica.id,
      url: replica.url ?? null,
      state: replica.state,
      restarts: replica.restarts,
      reason: replica.reason ?? null,
    })),
    scaling:
      live?.scaling === undefined
        ? null
        : {
            ...live.scaling,
            utilization: live.scaling.utilization ?? null,
            lastDecision: live.scaling.lastDecision ?? null,
            lastPoll: live.scaling.lastPoll ?? null,
          },
    kubernetes: inspected?.kubernetes ?? null,
    traffic: endpoint.traffic[record.deploymentName] ?? 0,
    mirrorTraffic: endpoint.mirror[record.deploymentName] ?? 0,
    spec: stored.spec,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function endpointState(
  endpoint: EndpointRecord,
  deployments: DeploymentView[],
): { state: DeploymentStateName; reason: string | null } {
  if (endpoint.state !== 'Healthy') return { state: endpoint.state, reason: null };
  const serving = deployments.filter((deployment) => deployment.traffic > 0);
  const unwell = serving.filter((deployment) => deployment.state !== 'Healthy');
  if (unwell.length === 0) {
    const reason = serving.length === 0 && deployments.length > 0 ? 'no deployment takes live traffic' : null;
    return { state: 'Healthy', reason };
  }
  const transitioning = unwell.every((d) => d.state === 'Creating' || d.state === 'Transitioning');
  return {
    state: transitioning ? 'Transitioning' : 'Unhealthy',
    reason: unwell
      .map((d) => `deployment ${d.name} is ${d.state}${d.reason ? `: ${d.reason}` : ''}`)
      .join('; '),
  };
}

export async function endpointView(
  state: ControlPlaneState,
  endpoint: EndpointRecord,
): Promise<EndpointView> {
  const records = await state.store.listDeployments({ endpointName: endpoint.name });
  const deployments = await Promise.all(records.map((record) => deploymentView(state, record, endpoint)));
  const base = `${state.gatewayUrl}/endpoints/${encodeURIComponent(endpoint.name)}`;
  return {
    name: endpoint.name,
    description: endpoint.description,
    tags: endpoint.tags,
    authMode: endpoint.authMode,
    target: endpoint.target,
    ...endpointState(endpoint, deployments),
    scoringUri: `${base}/score`,
    swaggerUri: `${base}/swagger.json`,
    traffic: endpoint.traffic,
    mirrorTraffic: endpoint.mirror,
    deployments,
    createdAt: endpoint.createdAt,
    updatedAt: endpoint.updatedAt,
  };
}
