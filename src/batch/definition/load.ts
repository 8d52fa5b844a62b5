/**
 * Reads a batch deployment YAML file and validates it through core/yaml.ts, reporting each problem
 * with the line it is on (`deployment.yml:7: mini_batch_size: expected …`), because a path into a
 * nested document is hard to find by eye. Unknown fields come back as warnings, each naming the
 * field and its line; so do fields berth reads but does not use (`environment`).
 *
 * Where the job runs: `--target` (the `target` option) replaces the file's `compute` before the
 * file's value is looked at, so a file written for another workspace's compute runs anywhere.
 */
import { basename, dirname, resolve } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { readSpecFile } from '../../core/spec-file.js';
import {
  formatSpecIssue,
  parseYamlFile,
  specError,
  unknownFieldMessage,
  validateSpec,
  type SpecIssue,
  type SpecPath,
} from '../../core/yaml.js';
import { parseComputeRef, type ComputeRef } from './compute.js';
import { batchDeploymentSchema, type BatchDeploymentFile } from './schema.js';
import { mergeRunSettings } from './settings.js';
import { resolveBatchDeployment, type BatchDeploymentDefinition } from './resolve.js';

export interface LoadedDeployment {
  deployment: BatchDeploymentDefinition;
  /** `deployment.yml:12: unknown field "tags" (ignored)`-style lines. */
  warnings: string[];
}

export interface LoadOptions {
  /** Where to run instead of the file's `compute` (`--target`); the file's value is then not read. */
  target?: string | undefined;
}

type Locate = (path: SpecPath) => number | undefined;

export async function loadBatchDeploymentFile(
  file: string,
  options: LoadOptions = {},
): Promise<LoadedDeployment> {
  const path = resolve(file);
  const text = await readSpecFile(path);
  return parseBatchDeployment(text, basename(path), dirname(path), options);
}

/** `source` names the file in messages; `baseDir` resolves relative paths. */
export function parseBatchDeployment(
  text: string,
  source: string,
  baseDir: string,
  options: LoadOptions = {},
): LoadedDeployment {
  const parsed = parseYamlFile(text, source, batchDeploymentSchema);
  return resolveChecked(parsed.value, parsed.warnings, source, baseDir, parsed.lineOf, options);
}

/** Validates an already-parsed definition (the SDK accepts objects); `locate` maps a field path to a line. */
export function validateBatchDeployment(
  value: unknown,
  source: string,
  baseDir: string,
  locate: Locate = () => undefined,
  options: LoadOptions = {},
): LoadedDeployment {
  const validated = validateSpec(value, source, batchDeploymentSchema, locate);
  return resolveChecked(validated.value, validated.warnings, source, baseDir, locate, options);
}

function resolveChecked(
  file: BatchDeploymentFile,
  warnings: readonly SpecIssue[],
  source: string,
  baseDir: string,
  locate: Locate,
  options: LoadOptions,
): LoadedDeployment {
  const compute = computeOf(file, source, locate, options);
  const settings = mergeRunSettings(file, source, locate);
  const notices = [...warnings.map(formatWarning)];
  if (file.environment !== undefined) {
    notices.push(
      formatSpecIssue({
        file: source,
        line: locate(['environment']),
        path: 'environment',
        message:
          "ignored: batch workers run the scoring script on berth's own Node.js runtime, not in an image or conda environment (set variables with settings.environment_variables)",
      }),
    );
  }
  return { deployment: resolveBatchDeployment(file, settings, compute, baseDir), warnings: notices };
}

function computeOf(
  file: BatchDeploymentFile,
  source: string,
  locate: Locate,
  options: LoadOptions,
): ComputeRef {
  if (options.target !== undefined) {
    try {
      return parseComputeRef(options.target);
    } catch (error) {
      throw new BerthError('INVALID_SPEC', `--target: ${(error as Error).message}`);
    }
  }
  const field = file.compute !== undefined ? 'compute' : 'target';
  if (file.compute !== undefined && file.target !== undefined && file.compute !== file.target) {
    throw specError([
      {
        file: source,
        line: locate(['target']),
        path: 'target',
        message: `${JSON.stringify(file.target)} conflicts with compute: ${JSON.stringify(file.compute)}; give one of them`,
      },
    ]);
  }
  try {
    return parseComputeRef(file.compute ?? file.target);
  } catch (error) {
    throw specError([
      { file: source, line: locate([field]), path: field, message: (error as Error).message },
    ]);
  }
}

/** Batch warnings name an unknown field in the message, as `batch run` has always printed them. */
function formatWarning(issue: SpecIssue): string {
  if (issue.message !== unknownFieldMessage) return formatSpecIssue(issue);
  return formatSpecIssue({ ...issue, path: '', message: `unknown field "${issue.path}" (ignored)` });
}
