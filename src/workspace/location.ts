/**
 * Where the workspace lives, and how its parts are created and opened. A workspace is a folder
 * holding `metadata.db` (the SQLite metadata store), `secret.key` (see secrets.ts) and `artifacts/`
 * (the artifact store). The folder is the owner's alone (0700): it is created so, and a workspace
 * made before that rule is tightened when it is opened.
 */
import { access, chmod, mkdir, stat } from 'node:fs/promises';
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

/** Makes `dir` the owner's alone when others may read or enter it. */
async function ownerOnly(dir: string): Promise<void> {
  const info = await stat(dir);
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
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
  await mkdir(absolute, { recursive: true, mode: 0o700 });
  await ownerOnly(absolute);
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
  await ownerOnly(absolute);
  const store = await openSqliteMetadataStore(join(absolute, databaseFile), { mustExist: true });
  try {
    const artifacts = await openArtifactStore(join(absolute, artifactsFolder));
    return { dir: absolute, store, artifacts };
  } catch (error) {
    await store.close();
    throw error;
  }
}
