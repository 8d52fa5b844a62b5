/**
 * The metadata store contract: the workspace's record of registered model versions and of the
 * deployments that use them. The embedded SQLite store implements it today; a PostgreSQL store
 * (for `berth server`) will implement the same interface, so every method is async even where
 * SQLite answers synchronously, and callers never see a driver type.
 *
 * What it covers:
 * - model versions: allocation of the next version number of a name, atomically across
 *   processes (two `berth model create` runs never get the same number), lookup, listing,
 *   deletion guarded by the deployments that still use a version, and each version's measured
 *   profile (`berth profile`), deleted with it;
 * - the deployment rows the guard reads (`recordDeployment` / `removeDeployment`), with what the
 *   control plane needs to redeploy them after a restart (spec, target, handle, state);
 * - endpoints: auth mode, keys, traffic and mirror shares, lifecycle state. Deleting an endpoint
 *   deletes its deployment rows in the same transaction;
 * - reference counts of artifacts, so a deleted version's blob can be garbage-collected.
 *
 * What it leaves out on purpose:
 * - artifact bytes (the ArtifactStore holds them; the store keeps only `ArtifactRef`s);
 * - the files inside a folder artifact: `countArtifactReferences` counts model versions whose
 *   artifact *is* the given sha256, not manifests that list it;
 * - schema creation by callers: migrations run when an implementation opens.
 *
 * Connections: an implementation owns its connection (or pool) from open to `close()`; callers
 * never share or borrow it. After `close()` every method rejects.
 */
import type { ModelVersion } from '../core/model.js';
import type { ModelProfile } from '../core/model-profile.js';
import type { DeploymentStateName } from '../core/specs/views.js';

/** What a caller supplies to register a model version: the store assigns `version` and `createdAt`. */
export type NewModelVersion = Omit<ModelVersion, 'version' | 'createdAt'>;

/** One deployment of a model version behind an endpoint, as the metadata store records it. */
export interface DeploymentRecord {
  endpointName: string;
  deploymentName: string;
  modelName: string;
  modelVersion: number;
  /** The deployment spec, stored as JSON; its schema belongs to the control plane. */
  spec: unknown;
  /** The target's name. Default 'local'. */
  target: string;
  /** What the target returned from deploy (JSON); null before the first deploy finishes. */
  handle: unknown;
  state: DeploymentStateName;
  /** Why the state is not Healthy; null when there is nothing to say. */
  reason: string | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

/** `target` defaults to 'local', `handle` and `reason` to null, `state` to 'Creating'. */
export type NewDeploymentRecord = Omit<
  DeploymentRecord,
  'createdAt' | 'updatedAt' | 'target' | 'handle' | 'state' | 'reason'
> &
  Partial<Pick<DeploymentRecord, 'target' | 'handle' | 'state' | 'reason'>>;

/** What `updateDeployment` may change; absent members are left as they are. */
export type DeploymentPatch = Partial<
  Pick<DeploymentRecord, 'spec' | 'handle' | 'state' | 'reason' | 'modelName' | 'modelVersion'>
>;

export type EndpointAuthMode = 'key' | 'none';

export interface EndpointKeyPair {
  primaryKey: string;
  secondaryKey: string;
}

/** An endpoint: a stable name and URL with keys, splitting traffic between its deployments. */
export interface EndpointRecord {
  name: string;
  authMode: EndpointAuthMode;
  /** Kept even when authMode is none, so switching to key needs no new keys. */
  keys: EndpointKeyPair;
  /** Deployment name → whole percent of live traffic (totals 0 or 100). */
  traffic: Record<string, number>;
  /** Deployment name → whole percent of traffic copied to it. */
  mirror: Record<string, number>;
  /** Lifecycle state of the endpoint itself (its deployments carry their own). */
  state: DeploymentStateName;
  description: string;
  tags: Record<string, string>;
  /** The default target of its deployments. */
  target: string;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

export type NewEndpointRecord = Omit<EndpointRecord, 'createdAt' | 'updatedAt'>;

export type EndpointPatch = Partial<
  Pick<EndpointRecord, 'authMode' | 'keys' | 'traffic' | 'mirror' | 'state' | 'description' | 'tags'>
>;

/** A named target (`berth target create`): its kind and the settings its adapter is built from. */
export interface TargetRecord {
  name: string;
  kind: string;
  /** The target's config without `kind` and `name`; its schema belongs to the targets layer. */
  config: Record<string, unknown>;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

export type NewTargetRecord = Omit<TargetRecord, 'createdAt' | 'updatedAt'>;

export interface ModelVersionFilter {
  /** Only versions of this model; undefined lists every model. */
  name?: string;
}

export interface MetadataStore {
  /**
   * Registers the next version of `input.name` (the highest existing version + 1, starting at 1)
   * and returns it as stored. Allocation is atomic across processes sharing the store.
   */
  createModelVersion(input: NewModelVersion): Promise<ModelVersion>;

  /** One version, or the latest when `version` is undefined; undefined when there is none. */
  getModelVersion(name: string, version: number | undefined): Promise<ModelVersion | undefined>;

  /** Versions ordered by name, then version ascending. */
  listModelVersions(filter?: ModelVersionFilter): Promise<ModelVersion[]>;

  /**
   * Deletes one version. Rejects with NOT_FOUND when it does not exist, and with IN_USE (naming
   * the deployments) while any deployment uses it. The artifact is left to the caller: see
   * `countArtifactReferences`.
   */
  deleteModelVersion(name: string, version: number): Promise<void>;

  /** Keeps what `berth profile` measured for a version, replacing an earlier profile; NOT_FOUND without the version. */
  saveModelProfile(name: string, version: number, profile: ModelProfile): Promise<void>;

  /** The version's measured profile; undefined when it was never profiled. Deleted with the version. */
  getModelProfile(name: string, version: number): Promise<ModelProfile | undefined>;

  /** The deployments using a version, as `"<endpoint>/<deployment>"`, sorted. */
  modelUsers(name: string, version: number): Promise<string[]>;

  /**
   * Records (or replaces) a deployment's use of a model version. Rejects with NOT_FOUND when the
   * model version does not exist.
   */
  recordDeployment(input: NewDeploymentRecord): Promise<DeploymentRecord>;

  /** Forgets a deployment; resolves false when there was none. */
  removeDeployment(endpointName: string, deploymentName: string): Promise<boolean>;

  /** One deployment; undefined when there is none. */
  getDeployment(endpointName: string, deploymentName: string): Promise<DeploymentRecord | undefined>;

  /** Deployments ordered by endpoint then name; `endpointName` narrows to one endpoint. */
  listDeployments(filter?: { endpointName?: string }): Promise<DeploymentRecord[]>;

  /** Changes a deployment's spec, model, handle or state; NOT_FOUND when there is none. */
  updateDeployment(
    endpointName: string,
    deploymentName: string,
    patch: DeploymentPatch,
  ): Promise<DeploymentRecord>;

  /** Creates an endpoint; CONFLICT when the name is taken. */
  createEndpoint(input: NewEndpointRecord): Promise<EndpointRecord>;

  getEndpoint(name: string): Promise<EndpointRecord | undefined>;

  /** Endpoints ordered by name. */
  listEndpoints(): Promise<EndpointRecord[]>;

  /** NOT_FOUND when there is none. */
  updateEndpoint(name: string, patch: EndpointPatch): Promise<EndpointRecord>;

  /** Deletes an endpoint and its deployment rows in one transaction; false when there was none. */
  deleteEndpoint(name: string): Promise<boolean>;

  /** Records a named target; CONFLICT when the name is taken. */
  createTarget(input: NewTargetRecord): Promise<TargetRecord>;

  getTarget(name: string): Promise<TargetRecord | undefined>;

  /** Named targets ordered by name. */
  listTargets(): Promise<TargetRecord[]>;

  /**
   * Forgets a named target; false when there was none. IN_USE (naming them) while endpoints or
   * deployments still name it.
   */
  deleteTarget(name: string): Promise<boolean>;

  /** How many model versions have this artifact sha256; 0 means its blob may be removed. */
  countArtifactReferences(sha256: string): Promise<number>;

  /** The schema version the open store is at (the number of the last migration applied). */
  schemaVersion(): Promise<number>;

  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}
