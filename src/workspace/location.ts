/**
 * Where the workspace lives, and how its parts are created and opened. A workspace is a folder
 * holding `metadata.db` (the SQLite metadata store) and `artifacts/` (the artifact store).
 */
import { access, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BerthError } from '../core/errors.js';
import { openArtifactStore, type ArtifactStore } from './artifacts.js';
import { openSqliteMetadataStore } from './sqlite/store.js';
import type { MetadataStore } from './store.js';

export const workspaceEnvVariable = 'BERTH_WORKSPACE';
const databaseFile = 'metadata.db';
const artifactsFolder = 'artifacts';

/**
 * The workspace folder: `explicit` when given (a `--workspace` flag, an SDK option), else
 * `$BERTH_WORKSPACE`, else `<cwd>/.berth`. Relative paths resolve against `cwd`.
 */
export function resolveWorkspaceDir(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string {
  const configured = explicit ?? env[workspaceEnvVariable];
  return configured !== undefined && configured !== '' ? resolve(cwd, configured) : resolve(cwd, '.berth');
}

export interface WorkspaceParts {
  dir: string;
  /** Owned by the caller: close it when done. */
  store: MetadataStore;
  artifacts: ArtifactStore;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Creates the workspace (folder, database at the latest schema, artifact folders). Idempotent:
 * on an existing workspace it only completes what is missing and migrates the database.
 */
export async function initWorkspace(dir: string): Promise<{ dir: string; existed: boolean }> {
  const absolute = resolve(dir);
  const existed = await exists(join(absolute, databaseFile));
  await mkdir(absolute, { recursive: true });
  const store = await openSqliteMetadataStore(join(absolute, databaseFile));
  await store.close();
  await openArtifactStore(join(absolute, artifactsFolder));
  return { dir: absolute, existed };
}

/** Opens an initialised workspace; WORKSPACE_MISSING when `dir` is not one. */
export async function openWorkspaceParts(dir: string): Promise<WorkspaceParts> {
  const absolute = resolve(dir);
  const ready =
    (await exists(join(absolute, databaseFile))) && (await exists(join(absolute, artifactsFolder)));
  if (!ready) {
    throw new BerthError(
      'WORKSPACE_MISSING',
      `no berth workspace at ${absolute}: run \`berth init\` (or set ${workspaceEnvVariable})`,
    );
  }
  const store = await openSqliteMetadataStore(join(absolute, databaseFile), { mustExist: true });
  try {
    const artifacts = await openArtifactStore(join(absolute, artifactsFolder));
    return { dir: absolute, store, artifacts };
  } catch (error) {
    await store.close();
    throw error;
  }
}
