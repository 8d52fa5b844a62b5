/**
 * The metadata store contract: the workspace's record of registered model versions and of the
 * deployments that use them. The embedded SQLite store implements it today; a PostgreSQL store
 * (for `berth server`) will implement the same interface, so every method is async even where
 * SQLite answers synchronously, and callers never see a driver type.
 *
 * What it covers:
 * - model versions: allocation of the next version number of a name, atomically across
 *   processes (two `berth model create` runs never get the same number), lookup, listing,
 *   deletion guarded by the deployments that still use a version;
 * - the deployment rows the guard reads (`recordDeployment` / `removeDeployment` are minimal
 *   on purpose: endpoint and deployment lifecycles own their own tables and states);
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

/** What a caller supplies to register a model version: the store assigns `version` and `createdAt`. */
export type NewModelVersion = Omit<ModelVersion, 'version' | 'createdAt'>;

/** One deployment of a model version behind an endpoint, as the metadata store records it. */
export interface DeploymentRecord {
  endpointName: string;
  deploymentName: string;
  modelName: string;
  modelVersion: number;
  /** The resolved deployment spec, stored as JSON; its schema belongs to the endpoints layer. */
  spec: unknown;
  /** ISO-8601 UTC. */
  createdAt: string;
}

export type NewDeploymentRecord = Omit<DeploymentRecord, 'createdAt'>;

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

  /** The deployments using a version, as `"<endpoint>/<deployment>"`, sorted. */
  modelUsers(name: string, version: number): Promise<string[]>;

  /**
   * Records (or replaces) a deployment's use of a model version. Rejects with NOT_FOUND when the
   * model version does not exist.
   */
  recordDeployment(input: NewDeploymentRecord): Promise<DeploymentRecord>;

  /** Forgets a deployment; resolves false when there was none. */
  removeDeployment(endpointName: string, deploymentName: string): Promise<boolean>;

  /** How many model versions have this artifact sha256; 0 means its blob may be removed. */
  countArtifactReferences(sha256: string): Promise<number>;

  /** The schema version the open store is at (the number of the last migration applied). */
  schemaVersion(): Promise<number>;

  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}
