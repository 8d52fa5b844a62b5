/**
 * Reads a batch deployment YAML file and validates it, reporting each problem with the line it is
 * on (`deployment.yml:7: mini_batch_size: expected …`), because a path into a nested document is
 * hard to find by eye. Unknown fields come back as warnings, each naming the field and its line.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { BerthError } from '../../core/errors.js';
import { batchDeploymentSchema, knownFields } from './schema.js';
import { parseCompute, resolveBatchDeployment } from './resolve.js';
import type { ResolvedBatchDeployment } from './resolve.js';

export interface LoadedDeployment {
  deployment: ResolvedBatchDeployment;
  /** `deployment.yml:12: unknown field "environment" (ignored)`-style lines. */
  warnings: string[];
}

type Locate = (path: readonly PropertyKey[]) => number | undefined;

export async function loadBatchDeploymentFile(file: string): Promise<LoadedDeployment> {
  const path = resolve(file);
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    const code = error.code === 'ENOENT' ? 'PATH_NOT_FOUND' : 'PATH_UNREADABLE';
    throw new BerthError(code, `cannot read deployment file ${path}: ${error.code ?? error.message}`);
  });
  return parseBatchDeployment(text, basename(path), dirname(path));
}

/** `source` names the file in messages; `baseDir` resolves relative paths. */
export function parseBatchDeployment(text: string, source: string, baseDir: string): LoadedDeployment {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    throw new BerthError(
      'INVALID_SPEC',
      `${source}:${line}: invalid YAML: ${firstError.message.split('\n')[0]}`,
    );
  }
  const locate: Locate = (path) => lineOf(document, lineCounter, path);
  return validateBatchDeployment(document.toJS() as unknown, source, baseDir, locate);
}

/** Validates an already-parsed definition (the SDK accepts objects); `locate` maps a field path to a line. */
export function validateBatchDeployment(
  value: unknown,
  source: string,
  baseDir: string,
  locate: Locate = () => undefined,
): LoadedDeployment {
  const where = (path: readonly PropertyKey[]): string => {
    const line = locate(path);
    return line === undefined ? `${source}: ` : `${source}:${line}: `;
  };
  const parsed = batchDeploymentSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const field = issue.path.length === 0 ? '(document)' : issue.path.map(String).join('.');
      return `${where(issue.path)}${field}: ${issue.message}`;
    });
    throw new BerthError('INVALID_SPEC', lines.join('\n'));
  }
  try {
    parseCompute(parsed.data.compute ?? parsed.data.target);
  } catch (error) {
    const field = parsed.data.compute !== undefined ? 'compute' : 'target';
    throw new BerthError('INVALID_SPEC', `${where([field])}${(error as Error).message}`);
  }
  const warnings = unknownFields(value).map(
    (path) => `${where(path)}unknown field "${path.join('.')}" (ignored)`,
  );
  return { deployment: resolveBatchDeployment(parsed.data, baseDir), warnings };
}

function unknownFields(value: unknown): string[][] {
  const found: string[][] = [];
  if (!isPlainObject(value)) return found;
  for (const [key, child] of Object.entries(value)) {
    if (!(knownFields[''] ?? []).includes(key)) found.push([key]);
    else if (knownFields[key] !== undefined && isPlainObject(child)) {
      for (const inner of Object.keys(child)) if (!knownFields[key].includes(inner)) found.push([key, inner]);
    }
  }
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The line of the deepest node on `path` that exists: the field itself, or its closest parent. */
function lineOf(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): number | undefined {
  let node: unknown = document.contents;
  let line: number | undefined = undefined;
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    if (pair === undefined) break;
    const range = isScalar(pair.key) ? pair.key.range : undefined;
    if (range) line = lineCounter.linePos(range[0]).line;
    node = pair.value;
  }
  if (line === undefined && document.contents?.range)
    line = lineCounter.linePos(document.contents.range[0]).line;
  return line;
}
