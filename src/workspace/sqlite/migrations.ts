/**
 * The SQLite schema, as an ordered list of migrations. A migration is never edited once released:
 * a change is a new entry at the end. `PRAGMA user_version` holds the number of the last one
 * applied (cheap to read on every open); `schema_migrations` keeps the history for people.
 */
import type { Database } from 'better-sqlite3';
import { BerthError } from '../../core/errors.js';

export interface Migration {
  /** 1, 2, 3…: the position in the list, and the schema version after it runs. */
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'model versions',
    sql: `
      CREATE TABLE model_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version > 0),
        framework TEXT NOT NULL,
        description TEXT NOT NULL,
        tags_json TEXT NOT NULL,
        artifact_kind TEXT NOT NULL CHECK (artifact_kind IN ('file', 'folder')),
        artifact_sha256 TEXT NOT NULL,
        artifact_size INTEGER NOT NULL,
        artifact_file_name TEXT NOT NULL,
        model_file TEXT,
        signature_json TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (name, version)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'deployments, artifact index',
    sql: `
      CREATE TABLE deployments (
        endpoint_name TEXT NOT NULL,
        deployment_name TEXT NOT NULL,
        model_name TEXT NOT NULL,
        model_version INTEGER NOT NULL,
        spec_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (endpoint_name, deployment_name),
        FOREIGN KEY (model_name, model_version) REFERENCES model_versions (name, version) ON DELETE RESTRICT
      ) STRICT;
      CREATE INDEX deployments_by_model ON deployments (model_name, model_version);
      CREATE INDEX model_versions_by_artifact ON model_versions (artifact_sha256);
    `,
  },
  {
    version: 3,
    name: 'endpoints, deployment runtime state',
    // Additive only: deployments recorded at schema 2 keep their rows and get the defaults below.
    sql: `
      CREATE TABLE endpoints (
        name TEXT PRIMARY KEY,
        auth_mode TEXT NOT NULL CHECK (auth_mode IN ('key', 'none')),
        keys_json TEXT NOT NULL,
        traffic_json TEXT NOT NULL,
        mirror_json TEXT NOT NULL,
        state TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        tags_json TEXT NOT NULL DEFAULT '{}',
        target TEXT NOT NULL DEFAULT 'local',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      ALTER TABLE deployments ADD COLUMN target TEXT NOT NULL DEFAULT 'local';
      ALTER TABLE deployments ADD COLUMN handle_json TEXT;
      ALTER TABLE deployments ADD COLUMN state TEXT NOT NULL DEFAULT 'Creating';
      ALTER TABLE deployments ADD COLUMN reason TEXT;
      ALTER TABLE deployments ADD COLUMN updated_at TEXT;
    `,
  },
  {
    version: 4,
    name: 'named targets',
    // Additive only: `berth target create` records a target's kind and settings under a name.
    sql: `
      CREATE TABLE targets (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        config_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    name: 'model profiles',
    // Additive only: what `berth profile` measured, one row per model version, gone with the version.
    sql: `
      CREATE TABLE model_profiles (
        model_name TEXT NOT NULL,
        model_version INTEGER NOT NULL,
        profile_json TEXT NOT NULL,
        measured_at TEXT NOT NULL,
        PRIMARY KEY (model_name, model_version),
        FOREIGN KEY (model_name, model_version) REFERENCES model_versions (name, version) ON DELETE CASCADE
      ) STRICT;
    `,
  },
];

export const latestSchemaVersion = migrations.length;

export function readSchemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function refuseNewer(db: Database, found: number, known: number): void {
  if (found > known) {
    throw new BerthError(
      'CONFLICT',
      `the workspace database ${db.name} is at schema version ${found}, newer than this berth knows (${known}): upgrade berth`,
    );
  }
}

/**
 * Brings the database up to `target` (default: the latest schema), all pending migrations in one
 * IMMEDIATE transaction, so a crash leaves the previous schema intact and two processes opening
 * an old database at once migrate it once. Refuses a database newer than the code.
 */
export function migrate(db: Database, target: number = latestSchemaVersion): number {
  const current = readSchemaVersion(db);
  refuseNewer(db, current, latestSchemaVersion);
  if (current >= target) return current;
  const run = db.transaction(() => {
    // Read again under the write lock: another process may have migrated since the read above.
    const locked = readSchemaVersion(db);
    refuseNewer(db, locked, latestSchemaVersion);
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    ) STRICT`);
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of migrations) {
      if (migration.version <= locked || migration.version > target) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
      // user_version lives in the database header and is written by this transaction.
      db.pragma(`user_version = ${migration.version}`);
    }
    return readSchemaVersion(db);
  });
  return run.immediate();
}
