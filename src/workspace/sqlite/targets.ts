/**
 * The named-target queries of the SQLite store (`berth target create`), kept apart from the model
 * and endpoint queries. Each function takes the open connection; the store owns it.
 */
import type { Database } from 'better-sqlite3';
import { BerthError } from '../../core/errors.js';
import { assertName } from '../../core/names.js';
import type { NewTargetRecord, TargetRecord } from '../store.js';

interface TargetRow {
  name: string;
  kind: string;
  config_json: string;
  created_at: string;
  updated_at: string;
}

const columns = 'name, kind, config_json, created_at, updated_at';

function rowToTarget(row: TargetRow): TargetRecord {
  return {
    name: row.name,
    kind: row.kind,
    config: JSON.parse(row.config_json) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function createTarget(db: Database, input: NewTargetRecord): TargetRecord {
  assertName(input.name, 'target name');
  const now = new Date().toISOString();
  const record: TargetRecord = {
    name: input.name,
    kind: input.kind,
    config: { ...input.config },
    createdAt: now,
    updatedAt: now,
  };
  try {
    db.prepare(`INSERT INTO targets (${columns}) VALUES (?, ?, ?, ?, ?)`).run(
      record.name,
      record.kind,
      JSON.stringify(record.config),
      now,
      now,
    );
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw new BerthError('CONFLICT', `target ${input.name} already exists`, { cause: error });
    }
    throw error;
  }
  return record;
}

export function getTarget(db: Database, name: string): TargetRecord | undefined {
  const row = db.prepare(`SELECT ${columns} FROM targets WHERE name = ?`).get(name) as TargetRow | undefined;
  return row === undefined ? undefined : rowToTarget(row);
}

export function listTargets(db: Database): TargetRecord[] {
  return (db.prepare(`SELECT ${columns} FROM targets ORDER BY name`).all() as TargetRow[]).map(rowToTarget);
}

export function deleteTarget(db: Database, name: string): boolean {
  const remove = db.transaction((): boolean => {
    const endpoints = db.prepare('SELECT name FROM endpoints WHERE target = ? ORDER BY name').all(name) as {
      name: string;
    }[];
    const deployments = db
      .prepare(
        'SELECT endpoint_name, deployment_name FROM deployments WHERE target = ? ORDER BY endpoint_name, deployment_name',
      )
      .all(name) as { endpoint_name: string; deployment_name: string }[];
    const users = [
      ...endpoints.map((row) => `endpoint ${row.name}`),
      ...deployments.map((row) => `deployment ${row.endpoint_name}/${row.deployment_name}`),
    ];
    if (users.length > 0) {
      throw new BerthError('IN_USE', `target ${name} is used by ${users.join(', ')}: delete them first`);
    }
    return db.prepare('DELETE FROM targets WHERE name = ?').run(name).changes > 0;
  });
  return remove.immediate();
}
