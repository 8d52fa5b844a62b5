/**
 * Row <-> domain mapping for the SQLite store. JSON columns are parsed with zod: the database is
 * a boundary (another berth version, or a hand edit, may have written it), and a bad row should
 * fail with a message naming it rather than surface as a wrong shape deep in a caller.
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { frameworks, type ModelVersion } from '../../core/model.js';
import { tensorDatatypes, type ModelSignature } from '../../core/tensor.js';
import type { DeploymentRecord } from '../store.js';

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

export function rowToDeployment(row: DeploymentRow): DeploymentRecord {
  return {
    endpointName: row.endpoint_name,
    deploymentName: row.deployment_name,
    modelName: row.model_name,
    modelVersion: row.model_version,
    spec: parseJson(
      row.spec_json,
      z.unknown(),
      `deployment ${row.endpoint_name}/${row.deployment_name} spec`,
    ),
    createdAt: row.created_at,
  };
}
