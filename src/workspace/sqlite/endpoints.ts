/**
 * The endpoint and deployment-state queries of the SQLite store, kept apart from the model
 * queries in store.ts. Each function takes the open connection; the store owns it.
 */
import type { Database } from 'better-sqlite3';
import { BerthError } from '../../core/errors.js';
import { assertName } from '../../core/names.js';
import { isSealed, type SecretBox } from '../secrets.js';
import type {
  DeploymentPatch,
  DeploymentRecord,
  EndpointPatch,
  EndpointRecord,
  NewEndpointRecord,
} from '../store.js';
import {
  endpointToRow,
  rowToDeployment,
  rowToEndpoint,
  type DeploymentRow,
  type EndpointRow,
} from './rows.js';

export const deploymentColumns =
  'endpoint_name, deployment_name, model_name, model_version, spec_json, created_at, target, handle_json, state, reason, updated_at';

const endpointColumns =
  'name, auth_mode, keys_json, traffic_json, mirror_json, state, description, tags_json, target, created_at, updated_at';

export function getDeployment(
  db: Database,
  endpointName: string,
  deploymentName: string,
): DeploymentRecord | undefined {
  const row = db
    .prepare(`SELECT ${deploymentColumns} FROM deployments WHERE endpoint_name = ? AND deployment_name = ?`)
    .get(endpointName, deploymentName) as DeploymentRow | undefined;
  return row === undefined ? undefined : rowToDeployment(row);
}

export function listDeployments(db: Database, endpointName: string | undefined): DeploymentRecord[] {
  const rows =
    endpointName === undefined
      ? db
          .prepare(`SELECT ${deploymentColumns} FROM deployments ORDER BY endpoint_name, deployment_name`)
          .all()
      : db
          .prepare(
            `SELECT ${deploymentColumns} FROM deployments WHERE endpoint_name = ? ORDER BY deployment_name`,
          )
          .all(endpointName);
  return (rows as DeploymentRow[]).map(rowToDeployment);
}

export function updateDeployment(
  db: Database,
  endpointName: string,
  deploymentName: string,
  patch: DeploymentPatch,
): DeploymentRecord {
  const update = db.transaction((): DeploymentRecord => {
    const current = getDeployment(db, endpointName, deploymentName);
    if (current === undefined) {
      throw new BerthError(
        'NOT_FOUND',
        `deployment ${deploymentName} of endpoint ${endpointName} does not exist`,
      );
    }
    const next: DeploymentRecord = {
      ...current,
      ...definedMembers(patch),
      updatedAt: new Date().toISOString(),
    };
    db.prepare(
      `UPDATE deployments SET model_name = @model_name, model_version = @model_version, spec_json = @spec_json,
         handle_json = @handle_json, state = @state, reason = @reason, updated_at = @updated_at
       WHERE endpoint_name = @endpoint_name AND deployment_name = @deployment_name`,
    ).run({
      endpoint_name: endpointName,
      deployment_name: deploymentName,
      model_name: next.modelName,
      model_version: next.modelVersion,
      spec_json: JSON.stringify(next.spec ?? null),
      handle_json: next.handle === null || next.handle === undefined ? null : JSON.stringify(next.handle),
      state: next.state,
      reason: next.reason,
      updated_at: next.updatedAt,
    });
    return next;
  });
  return update.immediate();
}

function definedMembers<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

const keysLabel = (name: string): string => `endpoint:${name}:keys`;

/** An endpoint's row with its keys sealed: only the sealed form is ever written. */
function sealedRow(endpoint: EndpointRecord, secrets: SecretBox): EndpointRow {
  const row = endpointToRow(endpoint);
  return { ...row, keys_json: secrets.seal(row.keys_json, keysLabel(endpoint.name)) };
}

function openedEndpoint(row: EndpointRow, secrets: SecretBox): EndpointRecord {
  return rowToEndpoint({ ...row, keys_json: secrets.open(row.keys_json, keysLabel(row.name)) });
}

/** Seals the keys of endpoints stored in plain text before sealing existed; run when the store opens. */
export function sealPlainKeys(db: Database, secrets: SecretBox): void {
  const rows = db.prepare('SELECT name, keys_json FROM endpoints').all() as Pick<
    EndpointRow,
    'name' | 'keys_json'
  >[];
  const plain = rows.filter((row) => !isSealed(row.keys_json));
  if (plain.length === 0) return;
  const update = db.prepare('UPDATE endpoints SET keys_json = ? WHERE name = ? AND keys_json = ?');
  db.transaction(() => {
    for (const row of plain)
      update.run(secrets.seal(row.keys_json, keysLabel(row.name)), row.name, row.keys_json);
  }).immediate();
}

export function createEndpoint(db: Database, input: NewEndpointRecord, secrets: SecretBox): EndpointRecord {
  assertName(input.name, 'endpoint name');
  const now = new Date().toISOString();
  const endpoint: EndpointRecord = {
    name: input.name,
    authMode: input.authMode,
    keys: { ...input.keys },
    traffic: { ...input.traffic },
    mirror: { ...input.mirror },
    state: input.state,
    description: input.description,
    tags: { ...input.tags },
    target: input.target,
    createdAt: now,
    updatedAt: now,
  };
  try {
    db.prepare(
      `INSERT INTO endpoints (${endpointColumns}) VALUES (@name, @auth_mode, @keys_json, @traffic_json, @mirror_json,
         @state, @description, @tags_json, @target, @created_at, @updated_at)`,
    ).run(sealedRow(endpoint, secrets));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw new BerthError('CONFLICT', `endpoint ${input.name} already exists`, { cause: error });
    }
    throw error;
  }
  return endpoint;
}

export function getEndpoint(db: Database, name: string, secrets: SecretBox): EndpointRecord | undefined {
  const row = db.prepare(`SELECT ${endpointColumns} FROM endpoints WHERE name = ?`).get(name) as
    EndpointRow | undefined;
  return row === undefined ? undefined : openedEndpoint(row, secrets);
}

export function listEndpoints(db: Database, secrets: SecretBox): EndpointRecord[] {
  const rows = db.prepare(`SELECT ${endpointColumns} FROM endpoints ORDER BY name`).all() as EndpointRow[];
  return rows.map((row) => openedEndpoint(row, secrets));
}

export function updateEndpoint(
  db: Database,
  name: string,
  patch: EndpointPatch,
  secrets: SecretBox,
): EndpointRecord {
  const update = db.transaction((): EndpointRecord => {
    const current = getEndpoint(db, name, secrets);
    if (current === undefined) throw new BerthError('NOT_FOUND', `endpoint ${name} does not exist`);
    const next: EndpointRecord = {
      ...current,
      ...definedMembers(patch),
      updatedAt: new Date().toISOString(),
    };
    db.prepare(
      `UPDATE endpoints SET auth_mode = @auth_mode, keys_json = @keys_json, traffic_json = @traffic_json,
         mirror_json = @mirror_json, state = @state, description = @description, tags_json = @tags_json,
         updated_at = @updated_at WHERE name = @name`,
    ).run(sealedRow(next, secrets));
    return next;
  });
  return update.immediate();
}

export function deleteEndpoint(db: Database, name: string): boolean {
  const remove = db.transaction((): boolean => {
    db.prepare('DELETE FROM deployments WHERE endpoint_name = ?').run(name);
    return db.prepare('DELETE FROM endpoints WHERE name = ?').run(name).changes > 0;
  });
  return remove.immediate();
}
