/**
 * Endpoint operations: create, update (traffic, mirror, description, tags, auth mode), delete
 * (its deployments first), keys. Each runs under the endpoint's serializer, so a traffic change
 * never races a deployment create on the same endpoint.
 */
import { BerthError } from '../core/errors.js';
import { defaultTargetName, resolveAuthMode, type EndpointSpec } from '../core/specs/index.js';
import { validateTraffic } from '../endpoints/traffic.js';
import type { EndpointAuthMode, EndpointKeyPair, EndpointRecord } from '../workspace/index.js';
import { removeFromTarget } from './deployment-ops.js';
import { generateKeyPair, regenerate, type KeyType } from './keys.js';
import { syncEndpoint } from './routing.js';
import { mustGetEndpoint, type ControlPlaneState } from './state.js';
import { routeInTargets } from './target-routing.js';

export interface EndpointChanges {
  traffic?: Record<string, number>;
  mirror?: Record<string, number>;
  description?: string;
  tags?: Record<string, string>;
  authMode?: EndpointAuthMode;
}

/** Refuses a split or mirror the gateway would refuse, naming what to change. */
export async function checkTraffic(
  state: ControlPlaneState,
  endpoint: string,
  traffic: Record<string, number>,
  mirror: Record<string, number>,
): Promise<void> {
  const deployments = await state.store.listDeployments({ endpointName: endpoint });
  validateTraffic(
    { traffic, mirror, deployments: deployments.map((d) => d.deploymentName) },
    `endpoint ${endpoint}`,
  );
}

export async function createEndpoint(state: ControlPlaneState, spec: EndpointSpec): Promise<EndpointRecord> {
  const name = spec.name;
  if (name === undefined) throw new BerthError('INVALID_SPEC', 'an endpoint needs a name');
  const target = spec.target ?? defaultTargetName;
  await state.targets.get(target);
  const authMode = resolveAuthMode(spec, target);
  return state.serial.run(name, async () => {
    const traffic = spec.traffic ?? {};
    const mirror = spec.mirror_traffic ?? {};
    // A new endpoint has no deployments: only an all-zero split is valid.
    await checkTraffic(state, name, traffic, mirror);
    const created = await state.store.createEndpoint({
      name,
      authMode,
      keys: generateKeyPair(),
      traffic,
      mirror,
      state: 'Healthy',
      description: spec.description ?? '',
      tags: spec.tags ?? {},
      target,
    });
    await syncEndpoint(state, name);
    return created;
  });
}

/** A traffic or mirror map given here replaces the whole split: deployments not named get 0. */
export async function updateEndpoint(
  state: ControlPlaneState,
  name: string,
  changes: EndpointChanges,
): Promise<EndpointRecord> {
  return state.serial.run(name, async () => {
    const current = await mustGetEndpoint(state, name);
    if (changes.authMode === 'none') resolveAuthMode({ auth_mode: 'none' }, current.target);
    const traffic = changes.traffic === undefined ? current.traffic : dropZeros(changes.traffic);
    const mirror = changes.mirror === undefined ? current.mirror : dropZeros(changes.mirror);
    await checkTraffic(state, name, traffic, mirror);
    const updated = await state.store.updateEndpoint(name, {
      traffic,
      mirror,
      description: changes.description,
      tags: changes.tags,
      authMode: changes.authMode,
    });
    await syncEndpoint(state, name);
    return updated;
  });
}

function dropZeros(percents: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(percents).filter(([, value]) => value !== 0));
}

/** Deletes the endpoint and every deployment behind it (their replicas stopped first). */
export async function deleteEndpoint(state: ControlPlaneState, name: string): Promise<void> {
  await state.serial.run(name, async () => {
    await mustGetEndpoint(state, name);
    await state.store.updateEndpoint(name, { state: 'Deleting' });
    const deployments = await state.store.listDeployments({ endpointName: name });
    for (const deployment of deployments) {
      await state.store.updateDeployment(name, deployment.deploymentName, { state: 'Deleting' });
    }
    state.gateway.removeEndpoint(name);
    await routeInTargets(state, name, undefined);
    await Promise.all(deployments.map((deployment) => removeFromTarget(state, deployment)));
    await state.store.deleteEndpoint(name);
  });
}

export async function endpointKeys(state: ControlPlaneState, name: string): Promise<EndpointKeyPair> {
  const endpoint = await mustGetEndpoint(state, name);
  if (endpoint.authMode === 'none') {
    throw new BerthError('BAD_INPUT', `endpoint ${name} has auth_mode none: it takes no keys`);
  }
  return endpoint.keys;
}

export async function regenerateKeys(
  state: ControlPlaneState,
  name: string,
  type: KeyType,
): Promise<EndpointKeyPair> {
  return state.serial.run(name, async () => {
    const endpoint = await mustGetEndpoint(state, name);
    const updated = await state.store.updateEndpoint(name, { keys: regenerate(endpoint.keys, type) });
    await syncEndpoint(state, name);
    return updated.keys;
  });
}
