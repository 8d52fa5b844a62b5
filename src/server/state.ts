/**
 * What the control plane's operations share: the workspace (metadata store, model operations),
 * the targets, the gateway, and the serializer that runs one operation per endpoint at a time.
 */
import { z } from 'zod';
import { BerthError } from '../core/errors.js';
import {
  deploymentSpecSchema,
  resolveDeploymentSettings,
  type DeploymentSettings,
  type DeploymentSpec,
} from '../core/specs/index.js';
import type { EndpointConfig } from '../endpoints/types.js';
import type { ModelOperations } from '../registry/model-operations.js';
import type { ResolvedDeployment } from '../targets/target.js';
import type { DeploymentRecord, EndpointRecord, MetadataStore } from '../workspace/index.js';
import type { KeyedSerializer } from './serial.js';
import type { TargetSet } from './targets.js';

/** The part of the gateway the control plane drives. */
export interface GatewayControl {
  setEndpoint(config: EndpointConfig): void;
  removeEndpoint(name: string): void;
}

export interface ControlPlaneState {
  workspaceDir: string;
  store: MetadataStore;
  models: ModelOperations;
  targets: TargetSet;
  gateway: GatewayControl;
  /** Base URL of the gateway, e.g. http://127.0.0.1:41235 */
  gatewayUrl: string;
  serial: KeyedSerializer;
}

/**
 * How a deployment is kept in the store: the spec, the folder its paths resolve against, and the
 * deployment resolved once from them (model version pinned, settings filled), which every later
 * step reads: deploy, restore, routing and views. Records written before `resolved` was kept
 * have none; they are resolved again when deployed.
 */
const storedResolvedSchema = z
  .object({
    endpointName: z.string(),
    deploymentName: z.string(),
    target: z.string(),
    model: z.object({ name: z.string(), version: z.number(), modelDir: z.string() }).passthrough(),
    instanceCount: z.number(),
    requestSettings: z
      .object({ requestTimeoutMs: z.number(), maxConcurrentRequestsPerInstance: z.number() })
      .passthrough(),
  })
  .passthrough();
export const storedDeploymentSchema = z.object({
  spec: deploymentSpecSchema,
  baseDir: z.string(),
  resolved: storedResolvedSchema.optional(),
});
export type StoredDeployment = { spec: DeploymentSpec; baseDir: string; resolved?: ResolvedDeployment };

export function storedSpec(record: DeploymentRecord): StoredDeployment {
  const parsed = storedDeploymentSchema.safeParse(record.spec);
  if (!parsed.success) {
    throw new BerthError(
      'INTERNAL',
      `deployment ${record.endpointName}/${record.deploymentName} has a stored spec this berth cannot read`,
    );
  }
  // The resolved form was written by this control plane from a ResolvedDeployment; the schema
  // above checks the fields read without a target.
  return parsed.data as StoredDeployment;
}

/** The settings of a stored deployment: from its resolved form, or resolved now for an old record. */
export function storedSettings(stored: StoredDeployment): DeploymentSettings {
  return stored.resolved ?? resolveDeploymentSettings(stored.spec);
}

export async function mustGetEndpoint(state: ControlPlaneState, name: string): Promise<EndpointRecord> {
  const endpoint = await state.store.getEndpoint(name);
  if (endpoint === undefined)
    throw new BerthError('NOT_FOUND', `endpoint ${name} not found (see berth endpoint list)`);
  return endpoint;
}

export async function mustGetDeployment(
  state: ControlPlaneState,
  endpointName: string,
  deploymentName: string,
): Promise<DeploymentRecord> {
  await mustGetEndpoint(state, endpointName);
  const deployment = await state.store.getDeployment(endpointName, deploymentName);
  if (deployment === undefined) {
    throw new BerthError('NOT_FOUND', `deployment ${deploymentName} not found in endpoint ${endpointName}`);
  }
  return deployment;
}
