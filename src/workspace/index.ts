/** The workspace: metadata store contract and SQLite implementation, artifact store, location. */
export type {
  DeploymentPatch,
  DeploymentRecord,
  EndpointAuthMode,
  EndpointKeyPair,
  EndpointPatch,
  EndpointRecord,
  NewEndpointRecord,
  MetadataStore,
  ModelVersionFilter,
  NewDeploymentRecord,
  NewModelVersion,
  NewTargetRecord,
  TargetRecord,
} from './store.js';
export { openSqliteMetadataStore, SqliteMetadataStore, type SqliteStoreOptions } from './sqlite/store.js';
export { latestSchemaVersion } from './sqlite/migrations.js';
export {
  ArtifactStore,
  openArtifactStore,
  type ProgressCallback,
  type PutStreamOptions,
} from './artifacts.js';
export { assertSafeRelativePath } from './manifest.js';
export { assertSha256, sha256Pattern } from './hashing.js';
export {
  initWorkspace,
  openWorkspaceParts,
  resolveWorkspaceDir,
  workspaceEnvVariable,
  type WorkspaceParts,
} from './location.js';
