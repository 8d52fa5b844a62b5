/**
 * Row <-> domain mapping for the SQLite store. JSON columns are parsed with zod: the database is
 * a boundary (another berth version, or a hand edit, may have written it), and a bad row should
 * fail with a message naming it rather than surface as a wrong shape deep in a caller.
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { frameworks, type ModelVersion } from '../../core/model.js';
import { tensorDatatypes, type ModelSignature } from '../../core/tensor.js';
import { deploymentStates } from '../../core/specs/views.js';
import type { DeploymentRecord, EndpointRecord } from '../store.js';

export interface ModelVersionRow {
  name: string;
  version: number;
  framework: string;
  description: string;
  tags_json: string;
  artifact_kind: string;
  artifact_sha256: string;
  artifact_size: number;
  artifact_file_name: string;
  model_file: string | null;
  signature_json: string | null;
  created_at: string;
}

export interface DeploymentRow {
  endpoint_name: string;
  deployment_name: string;
  model_name: string;
  model_version: number;
  spec_json: string;
  created_at: string;
  target: string;
  handle_json: string | null;
  state: string;
  reason: string | null;
  updated_at: string | null;
}

export interface EndpointRow {
  name: string;
  auth_mode: string;
  keys_json: string;
  traffic_json: string;
  mirror_json: string;
  state: string;
  description: string;
  tags_json: string;
  target: string;
  created_at: string;
  updated_at: string;
}

const tensorSpecSchema = z.object({
  name: z.string(),
  datatype: z.enum(tensorDatatypes),
  shape: z.array(z.union([z.number(), z.string()])),
});

const signatureSchema = z.object({
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  opset: z.number().optional(),
  producer: z.string().optional(),
});

const tagsSchema = z.record(z.string(), z.string());

function parseJson<T>(text: string, schema: z.ZodType<T>, where: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BerthError('INTERNAL', `${where} holds invalid JSON`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new BerthError('INTERNAL', `${where} is malformed: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function parseSignature(text: string, where: string): ModelSignature {
  const parsed = parseJson(text, signatureSchema, `${where} signature`);
  // JSON drops undefined members; ModelSignature wants them present.
  return { inputs: parsed.inputs, outputs: parsed.outputs, opset: parsed.opset, producer: parsed.producer };
}

export function modelVersionToRow(model: ModelVersion): ModelVersionRow {
  return {
    name: model.name,
    version: model.version,
    framework: model.framework,
    description: model.description,
    tags_json: JSON.stringify(model.tags),
    artifact_kind: model.artifact.kind,
    artifact_sha256: model.artifact.sha256,
    artifact_size: model.artifact.size,
    artifact_file_name: model.artifact.fileName,
    model_file: model.modelFile ?? null,
    signature_json: model.signature === null ? null : JSON.stringify(model.signature),
    created_at: model.createdAt,
  };
}

export function rowToModelVersion(row: ModelVersionRow): ModelVersion {
  const where = `model version ${row.name}:${row.version}`;
  const framework = z.enum(frameworks).safeParse(row.framework);
  const kind = z.enum(['file', 'folder']).safeParse(row.artifact_kind);
  if (!framework.success || !kind.success) {
    throw new BerthError('INTERNAL', `${where} has an unknown framework or artifact kind`);
  }
  const signature = row.signature_json === null ? null : parseSignature(row.signature_json, where);
  return {
    name: row.name,
    version: row.version,
    framework: framework.data,
    description: row.description,
    tags: parseJson(row.tags_json, tagsSchema, `${where} tags`),
    artifact: {
      kind: kind.data,
      sha256: row.artifact_sha256,
      size: row.artifact_size,
      fileName: row.artifact_file_name,
    },
    modelFile: row.model_file ?? undefined,
    signature,
    createdAt: row.created_at,
  };
}

const stateSchema = z.enum(deploymentStates);

function parseState(text: string, where: string): (typeof deploymentStates)[number] {
  const state = stateSchema.safeParse(text);
  if (!state.success)
    throw new BerthError('INTERNAL', `${where} has an unknown state ${JSON.stringify(text)}`);
  return state.data;
}

export function rowToDeployment(row: DeploymentRow): DeploymentRecord {
  const where = `deployment ${row.endpoint_name}/${row.deployment_name}`;
  return {
    endpointName: row.endpoint_name,
    deploymentName: row.deployment_name,
    modelName: row.model_name,
    modelVersion: row.model_version,
    spec: parseJson(row.spec_json, z.unknown(), `${where} spec`),
    target: row.target,
    handle: row.handle_json === null ? null : parseJson(row.handle_json, z.unknown(), `${where} handle`),
    state: parseState(row.state, where),
    reason: row.reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at ?? row.created_at,
  };
}

const keysSchema = z.object({ primaryKey: z.string(), secondaryKey: z.string() });
const percentsSchema = z.record(z.string(), z.number());

export function endpointToRow(endpoint: EndpointRecord): EndpointRow {
  return {
    name: endpoint.name,
    auth_mode: endpoint.authMode,
    keys_json: JSON.stringify(endpoint.keys),
    traffic_json: JSON.stringify(endpoint.traffic),
    mirror_json: JSON.stringify(endpoint.mirror),
    state: endpoint.state,
    description: endpoint.description,
    tags_json: JSON.stringify(endpoint.tags),
    target: endpoint.target,
    created_at: endpoint.createdAt,
    updated_at: endpoint.updatedAt,
  };
}

export function rowToEndpoint(row: EndpointRow): EndpointRecord {
  const where = `endpoint ${row.name}`;
  const authMode = z.enum(['key', 'none']).safeParse(row.auth_mode);
  if (!authMode.success) throw new BerthError('INTERNAL', `${where} has an unknown auth mode`);
  return {
    name: row.name,
    authMode: authMode.data,
    keys: parseJson(row.keys_json, keysSchema, `${where} keys`),
    traffic: parseJson(row.traffic_json, percentsSchema, `${where} traffic`),
    mirror: parseJson(row.mirror_json, percentsSchema, `${where} mirror traffic`),
    state: parseState(row.state, where),
    description: row.description,
    tags: parseJson(row.tags_json, tagsSchema, `${where} tags`),
    target: row.target,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
