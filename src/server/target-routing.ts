/**
 * Tells the targets that route an endpoint in a place of their own (`routeEndpoint`: the
 * Kubernetes target's in-cluster gateway) of each change of the endpoint's routing. A target is
 * told while the endpoint has a deployment on it, and once more after its last one has gone (or the
 * endpoint has), so it can remove what it made. Which targets were told last is kept per endpoint,
 * in memory: after a restart, restoreDeployments() routes every endpoint again first.
 */
import type { GatewayDeployment } from '../endpoints/types.js';
import type { EndpointRouting } from '../targets/target.js';
import type { DeploymentRecord, EndpointRecord } from '../workspace/index.js';
import type { ControlPlaneState } from './state.js';

const routed = new WeakMap<ControlPlaneState, Map<string, Set<string>>>();

function toldBefore(state: ControlPlaneState, endpoint: string): Set<string> {
  let byEndpoint = routed.get(state);
  if (byEndpoint === undefined) {
    byEndpoint = new Map();
    routed.set(state, byEndpoint);
  }
  return byEndpoint.get(endpoint) ?? new Set();
}

/** The routing the gateway was just given for `endpoint`, as the targets are told it. */
export function endpointRouting(
  endpoint: EndpointRecord,
  records: readonly DeploymentRecord[],
  deployments: readonly GatewayDeployment[],
): EndpointRouting {
  return {
    authMode: endpoint.authMode,
    keys:
      endpoint.authMode === 'key'
        ? { primary: endpoint.keys.primaryKey, secondary: endpoint.keys.secondaryKey }
        : undefined,
    traffic: endpoint.traffic,
    mirror: endpoint.mirror,
    deployments: deployments.map((deployment, i) => ({
      name: deployment.name,
      target: records[i]?.target ?? '',
      deployed: typeof records[i]?.handle === 'object' && records[i]?.handle !== null,
      requestTimeoutMs: deployment.requestSettings.requestTimeoutMs,
      maxConcurrentRequestsPerInstance: deployment.requestSettings.maxConcurrentRequestsPerInstance,
      instanceCount: deployment.instanceCount,
    })),
  };
}

/**
 * Routes `endpoint` on each target among its deployments' (and those told before); `routing`
 * undefined: the endpoint is gone. A target that cannot be opened (its record deleted) is skipped.
 */
export async function routeInTargets(
  state: ControlPlaneState,
  endpoint: string,
  routing: EndpointRouting | undefined,
): Promise<void> {
  const now = new Set(routing?.deployments.map((deployment) => deployment.target) ?? []);
  const names = new Set([...toldBefore(state, endpoint), ...now]);
  const told = new Set<string>();
  for (const name of names) {
    const target = await state.targets.get(name).catch(() => undefined);
    if (target?.routeEndpoint === undefined) continue;
    await target.routeEndpoint(endpoint, now.has(name) ? routing : undefined);
    if (now.has(name)) told.add(name);
  }
  routed.get(state)?.set(endpoint, told);
}
