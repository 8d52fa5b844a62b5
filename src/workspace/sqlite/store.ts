/**
 * The embedded metadata store: one SQLite file in WAL mode (readers never block the writer), with
 * a busy timeout so processes sharing the file queue for the write lock instead of failing, and
 * foreign keys on so a deployment can never point at a deleted model version.
 */
import Database from 'better-sqlite3';
import { chmod, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError } from '../../core/errors.js';
import type { ModelVersion } from '../../core/model.js';
import type { ModelProfile } from '../../core/model-profile.js';
import { assertName, formatModelRef } from '../../core/names.js';
import { assertSha256 } from '../hashing.js';
import type {
  DeploymentPatch,
  DeploymentRecord,
  EndpointPatch,
  EndpointRecord,
  MetadataStore,
  ModelVersionFilter,
  NewDeploymentRecord,
  NewEndpointRecord,
  NewModelVersion,
  NewTargetRecord,
  TargetRecord,
} from '../store.js';
import { createSecretBox, loadSecretKey, secretKeyFileName, type SecretBox } from '../secrets.js';
import * as endpoints from './endpoints.js';
import { migrate, readSchemaVersion } from './migrations.js';
import * as profiles from './profiles.js';
import * as targets from './targets.js';
import {
  modelVersionToRow,
  rowToDeployment,
  rowToModelVersion,
  type DeploymentRow,
  type ModelVersionRow,
} from './rows.js';

export interface SqliteStoreOptions {
  /** Refuse to create the file when it does not exist. Default: false (create it). */
  mustExist?: boolean;
  /** How long to wait for another process's write lock before failing, in ms. Default: 10000. */
  busyTimeoutMs?: number;
  /** The key that seals stored secrets (see ../secrets.ts). Default: `secret.key` beside `file`. */
  secretKeyFile?: string;
}

/** The database and its WAL files are the owner's alone (0600), whatever the umask. */
async function ownerOnly(file: string, create: boolean): Promise<void> {
  if (create) await (await open(file, 'a', 0o600)).close();
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const mode = await stat(path).then(
      (info) => info.mode,
      () => undefined,
    );
    if (mode !== undefined && (mode & 0o077) !== 0) await chmod(path, 0o600);
  }
}

/** Opens (and migrates) the SQLite metadata store at `file`. */
export async function openSqliteMetadataStore(
  file: string,
  options: SqliteStoreOptions = {},
): Promise<SqliteMetadataStore> {
  let db: Database.Database;
  const exists = await stat(file).then(
    () => true,
    () => false,
  );
  if (exists || options.mustExist !== true) await ownerOnly(file, !exists);
  try {
    db = new Database(file, {
      fileMustExist: options.mustExist ?? false,
      timeout: options.busyTimeoutMs ?? 10_000,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'SQLITE_CANTOPEN') {
      throw new BerthError('PATH_NOT_FOUND', `cannot open the workspace database ${file}`, { cause: error });
    }
    throw error;
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // WAL makes NORMAL durable against application crashes; only a power cut may lose the last commit.
    db.pragma('synchronous = NORMAL');
    migrate(db);
    await ownerOnly(file, false);
    const secrets = createSecretBox(
      await loadSecretKey(options.secretKeyFile ?? join(dirname(file), secretKeyFileName)),
    );
    endpoints.sealPlainKeys(db, secrets);
    return new SqliteMetadataStore(db, secrets);
  } catch (error) {
    db.close();
    throw error;
  }
}

const modelColumns =
  'name, version, framework, description, tags_json, artifact_kind, artifact_sha256, artifact_size, artifact_file_name, model_file, signature_json, created_at';

export class SqliteMetadataStore implements MetadataStore {
  #db: Database.Database | undefined;
  readonly #secrets: SecretBox;

  /** Use `openSqliteMetadataStore`: it sets the pragmas, migrates and loads the secret key. */
  constructor(db: Database.Database, secrets: SecretBox) {
    this.#db = db;
    this.#secrets = secrets;
  }

  get #open(): Database.Database {
    if (this.#db === undefined) throw new BerthError('INTERNAL', 'the metadata store is closed');
    return this.#db;
  }

  async createModelVersion(input: NewModelVersion): Promise<ModelVersion> {
    assertName(input.name, 'model name');
    assertSha256(input.artifact.sha256);
    const db = this.#open;
    const allocate = db.transaction((): ModelVersion => {
      const { next } = db
        .prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM model_versions WHERE name = ?')
        .get(input.name) as { next: number };
      // Built field by field: a caller's extra properties must not appear in the answer unstored.
      const model: ModelVersion = {
        name: input.name,
        version: next,
        framework: input.framework,
        description: input.description,
        tags: { ...input.tags },
        artifact: { ...input.artifact },
        modelFile: input.modelFile,
        signature: input.signature,
        createdAt: new Date().toISOString(),
      };
      db.prepare(
        `INSERT INTO model_versions (${modelColumns}) VALUES (@name, @version, @framework, @description, @tags_json, @artifact_kind, @artifact_sha256, @artifact_size, @artifact_file_name, @model_file, @signature_json, @created_at)`,
      ).run(modelVersionToRow(model));
      return model;
    });
    // IMMEDIATE takes the write lock before the MAX() read, so two processes cannot both read the
    // same maximum; the busy timeout makes the second one wait instead of failing.
    return allocate.immediate();
  }

  async getModelVersion(name: string, version: number | undefined): Promise<ModelVersion | undefined> {
    const row =
      version === undefined
        ? this.#open
            .prepare(
              `SELECT ${modelColumns} FROM model_versions WHERE name = ? ORDER BY version DESC LIMIT 1`,
            )
            .get(name)
        : this.#open
            .prepare(`SELECT ${modelColumns} FROM model_versions WHERE name = ? AND version = ?`)
            .get(name, version);
    return row === undefined ? undefined : rowToModelVersion(row as ModelVersionRow);
  }

  async listModelVersions(filter: ModelVersionFilter = {}): Promise<ModelVersion[]> {
    const rows =
      filter.name === undefined
        ? this.#open.prepare(`SELECT ${modelColumns} FROM model_versions ORDER BY name, version`).all()
        : this.#open
            .prepare(`SELECT ${modelColumns} FROM model_versions WHERE name = ? ORDER BY version`)
            .all(filter.name);
    return (rows as ModelVersionRow[]).map(rowToModelVersion);
  }

  async deleteModelVersion(name: string, version: number): Promise<void> {
    const db = this.#open;
    const remove = db.transaction(() => {
      const ref = formatModelRef({ name, version });
      const exists = db
        .prepare('SELECT 1 FROM model_versions WHERE name = ? AND version = ?')
        .get(name, version);
      if (exists === undefined) throw new BerthError('NOT_FOUND', `model ${ref} does not exist`);
      const users = this.#users(name, version);
      if (users.length > 0) {
        throw new BerthError(
          'IN_USE',
          `model ${ref} is used by ${users.length === 1 ? 'deployment' : 'deployments'} ${users.join(', ')}: delete ${users.length === 1 ? 'it' : 'them'} first`,
        );
      }
      db.prepare('DELETE FROM model_versions WHERE name = ? AND version = ?').run(name, version);
    });
    remove.immediate();
  }

  async saveModelProfile(name: string, version: number, profile: ModelProfile): Promise<void> {
    profiles.saveModelProfile(this.#open, name, version, profile);
  }

  async getModelProfile(name: string, version: number): Promise<ModelProfile | undefined> {
    return profiles.getModelProfile(this.#open, name, version);
  }

  async modelUsers(name: string, version: number): Promise<string[]> {
    return this.#users(name, version);
  }

  #users(name: string, version: number): string[] {
    const rows = this.#open
      .prepare(
        'SELECT endpoint_name, deployment_name FROM deployments WHERE model_name = ? AND model_version = ? ORDER BY endpoint_name, deployment_name',
      )
      .all(name, version) as Pick<DeploymentRow, 'endpoint_name' | 'deployment_name'>[];
    return rows.map((row) => `${row.endpoint_name}/${row.deployment_name}`);
  }

  async recordDeployment(input: NewDeploymentRecord): Promise<DeploymentRecord> {
    assertName(input.endpointName, 'endpoint name');
    assertName(input.deploymentName, 'deployment name');
    const now = new Date().toISOString();
    const row: DeploymentRow = {
      endpoint_name: input.endpointName,
      deployment_name: input.deploymentName,
      model_name: input.modelName,
      model_version: input.modelVersion,
      spec_json: JSON.stringify(input.spec ?? null),
      created_at: now,
      target: input.target ?? 'local',
      handle_json: input.handle === undefined || input.handle === null ? null : JSON.stringify(input.handle),
      state: input.state ?? 'Creating',
      reason: input.reason ?? null,
      updated_at: now,
    };
    try {
      this.#open
        .prepare(
          `INSERT INTO deployments (${endpoints.deploymentColumns})
           VALUES (@endpoint_name, @deployment_name, @model_name, @model_version, @spec_json, @created_at,
             @target, @handle_json, @state, @reason, @updated_at)
           ON CONFLICT (endpoint_name, deployment_name) DO UPDATE SET
             model_name = excluded.model_name, model_version = excluded.model_version,
             spec_json = excluded.spec_json, created_at = excluded.created_at, target = excluded.target,
             handle_json = excluded.handle_json, state = excluded.state, reason = excluded.reason,
             updated_at = excluded.updated_at`,
        )
        .run(row);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new BerthError(
          'NOT_FOUND',
          `model ${formatModelRef({ name: input.modelName, version: input.modelVersion })} does not exist`,
          { cause: error },
        );
      }
      throw error;
    }
    return rowToDeployment(row);
  }

  async removeDeployment(endpointName: string, deploymentName: string): Promise<boolean> {
    const result = this.#open
      .prepare('DELETE FROM deployments WHERE endpoint_name = ? AND deployment_name = ?')
      .run(endpointName, deploymentName);
    return result.changes > 0;
  }

  async getDeployment(endpointName: string, deploymentName: string): Promise<DeploymentRecord | undefined> {
    return endpoints.getDeployment(this.#open, endpointName, deploymentName);
  }

  async listDeployments(filter: { endpointName?: string } = {}): Promise<DeploymentRecord[]> {
    return endpoints.listDeployments(this.#open, filter.endpointName);
  }

  async updateDeployment(
    endpointName: string,
    deploymentName: string,
    patch: DeploymentPatch,
  ): Promise<DeploymentRecord> {
    return endpoints.updateDeployment(this.#open, endpointName, deploymentName, patch);
  }

  async createEndpoint(input: NewEndpointRecord): Promise<EndpointRecord> {
    return endpoints.createEndpoint(this.#open, input, this.#secrets);
  }

  async getEndpoint(name: string): Promise<EndpointRecord | undefined> {
    return endpoints.getEndpoint(this.#open, name, this.#secrets);
  }

  async listEndpoints(): Promise<EndpointRecord[]> {
    return endpoints.listEndpoints(this.#open, this.#secrets);
  }

  async updateEndpoint(name: string, patch: EndpointPatch): Promise<EndpointRecord> {
    return endpoints.updateEndpoint(this.#open, name, patch, this.#secrets);
  }

  async deleteEndpoint(name: string): Promise<boolean> {
    return endpoints.deleteEndpoint(this.#open, name);
  }

  async createTarget(input: NewTargetRecord): Promise<TargetRecord> {
    return targets.createTarget(this.#open, input);
  }

  async getTarget(name: string): Promise<TargetRecord | undefined> {
    return targets.getTarget(this.#open, name);
  }

  async listTargets(): Promise<TargetRecord[]> {
    return targets.listTargets(this.#open);
  }

  async deleteTarget(name: string): Promise<boolean> {
    return targets.deleteTarget(this.#open, name);
  }

  async countArtifactReferences(sha256: string): Promise<number> {
    const { count } = this.#open
      .prepare('SELECT COUNT(*) AS count FROM model_versions WHERE artifact_sha256 = ?')
      .get(assertSha256(sha256)) as { count: number };
    return count;
  }

  async schemaVersion(): Promise<number> {
    return readSchemaVersion(this.#open);
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}
