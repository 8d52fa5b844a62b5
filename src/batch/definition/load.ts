/**
 * Reads a batch deployment YAML file and validates it through core/yaml.ts, reporting each problem
 * with the line it is on (`deployment.yml:7: mini_batch_size: expected …`), because a path into a
 * nested document is hard to find by eye. Unknown fields come back as warnings, each naming the
 * field and its line.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import {
  formatSpecIssue,
  parseYamlFile,
  specError,
  unknownFieldMessage,
  validateSpec,
  type SpecIssue,
  type SpecPath,
} from '../../core/yaml.js';
import { batchDeploymentSchema, type BatchDeploymentFile } from './schema.js';
import { parseCompute, resolveBatchDeployment } from './resolve.js';
import type { ResolvedBatchDeployment } from './resolve.js';

export interface LoadedDeployment {
  deployment: ResolvedBatchDeployment;
  /** `deployment.yml:12: unknown field "environment" (ignored)`-style lines. */
  warnings: string[];
}

type Locate = (path: SpecPath) => number | undefined;

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
  const parsed = parseYamlFile(text, source, batchDeploymentSchema);
  return resolveChecked(parsed.value, parsed.warnings, source, baseDir, parsed.lineOf);
}

/** Validates an already-parsed definition (the SDK accepts objects); `locate` maps a field path to a line. */
export function validateBatchDeployment(
  value: unknown,
  source: string,
  baseDir: string,
  locate: Locate = () => undefined,
): LoadedDeployment {
  const validated = validateSpec(value, source, batchDeploymentSchema, locate);
  return resolveChecked(validated.value, validated.warnings, source, baseDir, locate);
}

function resolveChecked(
  file: BatchDeploymentFile,
  warnings: readonly SpecIssue[],
  source: string,
  baseDir: string,
  locate: Locate,
): LoadedDeployment {
  try {
    parseCompute(file.compute ?? file.target);
  } catch (error) {
    const field = file.compute !== undefined ? 'compute' : 'target';
    // parseCompute's message already names the field.
    throw specError([{ file: source, line: locate([field]), path: '', message: (error as Error).message }]);
  }
  return { deployment: resolveBatchDeployment(file, baseDir), warnings: warnings.map(formatWarning) };
}

/** Batch warnings name an unknown field in the message, as `batch run` has always printed them. */
function formatWarning(issue: SpecIssue): string {
  if (issue.message !== unknownFieldMessage) return formatSpecIssue(issue);
  return formatSpecIssue({ ...issue, path: '', message: `unknown field "${issue.path}" (ignored)` });
}
