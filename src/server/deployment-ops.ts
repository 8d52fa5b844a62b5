/**
 * Deployment operations: create (resolve, record, deploy, optionally take all traffic), rolling
 * update (`--set` edits or a new spec), delete (refused while it takes traffic), logs, and the
 * redeploy of every stored deployment when the control plane starts.
 */
import { stat } from 'node:fs/promises';
import { BerthError, toBerthError } from '../core/errors.js';
import { applySpecEdits, type DeploymentSpec } from '../core/specs/index.js';
import { resolveDeployment } from '../targets/resolve-deployment.js';
import type { LogLine, LogOptions, ResolvedDeployment } from '../targets/target.js';
import type { DeploymentRecord } from '../workspace/index.js';
import { handleOf, isHandle, syncEndpoint } from './routing.js';
import { mustGetDeployment, mustGetEndpoint, storedSpec, type ControlPlaneState } from './state.js';

export interface CreateDeploymentInput {
  spec: DeploymentSpec;
  /** Folder the spec's relative paths resolve against (the YAML file's). */
  baseDir: string;
  /** Give the deployment 100% of live traffic once it is healthy. */
  allTraffic: boolean;
}

export interface UpdateDeploymentInput {
  /** `key=value` edits of the stored spec, dotted paths. */
  edits: string[];
  /** A whole new spec (with its folder); applied before `edits`. */
  spec: DeploymentSpec | undefined;
  baseDir: string | undefined;
}

export interface OperationResult {
  record: DeploymentRecord;
  /** What the target said while deploying (warnings included). */
  messages: string[];
}

function collector(): { messages: string[]; progress: (message: string) => void } {
  const messages: string[] = [];
  return { messages, progress: (message) => messages.push(message) };
}

/**
 * The resolved form a stored deployment is deployed from: the one recorded when it was created or
 * updated. A record from before resolved forms were kept, or whose model files have left the
 * cache, is resolved again from its stored spec (which names the pinned model version).
 */
async function resolvedOf(state: ControlPlaneState, record: DeploymentRecord): Promise<ResolvedDeployment> {
  const stored = storedSpec(record);
  if (stored.resolved !== undefined && (await exists(stored.resolved.model.modelDir))) return stored.resolved;
  const { kind } = await state.targets.get(record.target);
  const { resolved } = await resolveDeployment(stored.spec, state, record.target, {
    baseDir: stored.baseDir,
    kind,
  });
  return resolved;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Deploys a stored deployment and records the outcome: Healthy with the handle, or Failed with the reason. */
async function deployRecord(
  state: ControlPlaneState,
  record: DeploymentRecord,
  progress: (message: string) => void,
): Promise<DeploymentRecord> {
  const { endpointName, deploymentName } = record;
  try {
    const resolved = await resolvedOf(state, record);
    const target = await state.targets.get(record.target);
    const handle = await target.deploy(resolved, progress);
    const status = await target.status(handle);
    return await state.store.updateDeployment(endpointName, deploymentName, {
      handle,
      state: status.state,
      reason: status.reason ?? null,
    });
  } catch (error) {
    await state.store.updateDeployment(endpointName, deploymentName, {
      state: 'Failed',
      reason: toBerthError(error).message,
    });
    throw error;
  }
}

export async function createDeployment(
  state: ControlPlaneState,
  input: CreateDeploymentInput,
): Promise<OperationResult> {
  const { name, endpoint_name: endpointName } = input.spec;
  if (name === undefined || endpointName === undefined) {
    throw new BerthError('INVALID_SPEC', 'a deployment needs name and endpoint_name');
  }
  return state.serial.run(endpointName, async () => {
    const endpoint = await mustGetEndpoint(state, endpointName);
    if ((await state.store.getDeployment(endpointName, name)) !== undefined) {
      throw new BerthError(
        'CONFLICT',
        `deployment ${name} already exists in endpoint ${endpointName}: use berth deployment update`,
      );
    }
    const target = input.spec.target ?? endpoint.target;
    const driver = await state.targets.get(target);
    // Resolved once, here: resolution registers an inline model, and the record keeps the spec
    // naming the version it registered together with the resolved form every later step reads.
    const { resolved, spec } = await resolveDeployment(input.spec, state, target, {
      baseDir: input.baseDir,
      kind: driver.kind,
    });
    // What the target cannot run (e.g. more replicas than it can hold) is refused before it is
    // recorded, so it never becomes a stored deployment that a restart would try again.
    await driver.validate?.(resolved);
    const { messages, progress } = collector();
    const record = await state.store.recordDeployment({
      endpointName,
      deploymentName: name,
      modelName: resolved.model.name,
      modelVersion: resolved.model.version,
      spec: { spec, baseDir: input.baseDir, resolved },
      target,
      state: 'Creating',
    });
    await syncEndpoint(state, endpointName);
    const deployed = await deployRecord(state, record, progress);
    if (input.allTraffic) await state.store.updateEndpoint(endpointName, { traffic: { [name]: 100 } });
    await syncEndpoint(state, endpointName);
    return { record: deployed, messages };
  });
}

export async function updateDeployment(
  state: ControlPlaneState,
  endpointName: string,
  name: string,
  input: UpdateDeploymentInput,
): Promise<OperationResult> {
  return state.serial.run(endpointName, async () => {
    const record = await mustGetDeployment(state, endpointName, name);
    const stored = storedSpec(record);
    const given =
      input.spec === undefined ? stored.spec : { ...input.spec, name, endpoint_name: endpointName };
    if (input.spec?.name !== undefined && input.spec.name !== name) {
      throw new BerthError('BAD_INPUT', `the spec is for deployment ${input.spec.name}, not ${name}`);
    }
    const baseDir = input.baseDir ?? stored.baseDir;
    const edited = input.edits.length === 0 ? given : applySpecEdits(given, input.edits);
    const target = edited.target ?? record.target;
    if (target !== record.target) {
      throw new BerthError(
        'BAD_INPUT',
        `a deployment cannot move from target ${record.target} to ${target}: create a new one`,
      );
    }
    const { kind } = await state.targets.get(target);
    const { resolved, spec } = await resolveDeployment(edited, state, target, { baseDir, kind });
    const { messages, progress } = collector();
    await state.store.updateDeployment(endpointName, name, { state: 'Transitioning', reason: null });
    try {
      const driver = await state.targets.get(target);
      const handle = isHandle(record.handle)
        ? await driver.update(record.handle, resolved, progress)
        : await driver.deploy(resolved, progress);
      const status = await driver.status(handle);
      const updated = await state.store.updateDeployment(endpointName, name, {
        spec: { spec, baseDir, resolved },
        modelName: resolved.model.name,
        modelVersion: resolved.model.version,
        handle,
        state: status.state,
        reason: status.reason ?? null,
      });
      await syncEndpoint(state, endpointName);
      return { record: updated, messages };
    } catch (error) {
      // A failed rolling update leaves the old replicas serving: the deployment keeps its old spec.
      const failed = `update failed: ${toBerthError(error).message}`;
      await state.store.updateDeployment(endpointName, name, { state: 'Unhealthy', reason: failed });
      throw error;
    }
  });
}

/**
 * Stops a deployment's replicas; a target that no longer knows it is not an error. A deployment
 * whose deploy failed (no handle) is removed as well as can be: what its deploy may have left is
 * looked for and removed, but when its target cannot be opened or reached (no kubeconfig, a
 * cluster down) the record goes anyway.
 */
export async function removeFromTarget(state: ControlPlaneState, record: DeploymentRecord): Promise<void> {
  const deployed = isHandle(record.handle);
  await state.targets
    .get(record.target)
    .then(async (target) => {
      const handle = handleOf(record, target);
      if (handle !== undefined) await target.remove(handle);
    })
    .catch((error: unknown) => {
      if (deployed && toBerthError(error).code !== 'NOT_FOUND') throw error;
    });
}

export async function deleteDeployment(
  state: ControlPlaneState,
  endpointName: string,
  name: string,
): Promise<void> {
  await state.serial.run(endpointName, async () => {
    const endpoint = await mustGetEndpoint(state, endpointName);
    const record = await mustGetDeployment(state, endpointName, name);
    const live = endpoint.traffic[name] ?? 0;
    const mirrored = endpoint.mirror[name] ?? 0;
    if (live > 0 || mirrored > 0) {
      const share = live > 0 ? `${live}% of live traffic` : `${mirrored}% mirrored traffic`;
      throw new BerthError(
        'CONFLICT',
        `deployment ${name} still takes ${share}: move it elsewhere first (berth endpoint update ${endpointName} --traffic ...)`,
      );
    }
    await state.store.updateDeployment(endpointName, name, { state: 'Deleting' });
    await removeFromTarget(state, record);
    await state.store.removeDeployment(endpointName, name);
    await syncEndpoint(state, endpointName);
  });
}

export async function deploymentLogs(
  state: ControlPlaneState,
  endpointName: string,
  name: string,
  options: LogOptions,
): Promise<AsyncIterable<LogLine>> {
  const record = await mustGetDeployment(state, endpointName, name);
  if (!isHandle(record.handle)) {
    throw new BerthError('NOT_READY', `deployment ${name} has no replicas yet (${record.state})`);
  }
  return (await state.targets.get(record.target)).logs(record.handle, options);
}

/**
 * Redeploys every stored deployment (after a restart the replicas are gone): same spec, same
 * target; keys and traffic are the endpoint's and were never lost. Failures are recorded on the
 * deployment, not thrown: one broken deployment must not keep the others down.
 */
export async function restoreDeployments(state: ControlPlaneState): Promise<void> {
  const endpoints = await state.store.listEndpoints();
  // A target's own routing that fails (its cluster down) must not keep the others from starting.
  for (const endpoint of endpoints) await syncEndpoint(state, endpoint.name).catch(() => undefined);
  const records = await state.store.listDeployments();
  await Promise.all(
    records.map((record) =>
      state.serial.run(record.endpointName, async () => {
        await state.store.updateDeployment(record.endpointName, record.deploymentName, {
          state: 'Creating',
          reason: 'redeploying after a control-plane restart',
          handle: null,
        });
        await deployRecord(state, record, () => undefined).catch(() => undefined);
        await syncEndpoint(state, record.endpointName).catch(() => undefined);
      }),
    ),
  );
}
