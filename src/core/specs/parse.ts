/**
 * Reading endpoint and deployment YAML: schema errors with lines (see ../yaml.ts), unknown fields
 * and fields the target ignores as warnings, names filled from the command line, and `--set`
 * edits of a stored spec validated by the same schema.
 */
import { parse as parseYamlScalar } from 'yaml';
import { BerthError } from '../errors.js';
import { formatSpecPath, parseYamlFile, specError, type SpecIssue } from '../yaml.js';
import {
  deploymentFieldWarnings,
  endpointFieldRules,
  inapplicableFieldWarnings,
  type TargetRef,
} from './applicability.js';
import { deploymentSpecSchema, type DeploymentSpec } from './deployment.js';
import { endpointSpecSchema, type AuthMode, type EndpointSpec } from './endpoint.js';

export const defaultTargetName = 'local';

export interface ParsedSpec<T> {
  spec: T;
  warnings: SpecIssue[];
}

export interface NameOverrides {
  name?: string | undefined;
  endpointName?: string | undefined;
}

function missing(file: string, path: string, flag: string): BerthError {
  return specError([{ file, line: undefined, path, message: `is required (in the file or as ${flag})` }]);
}

/** An endpoint spec with its name settled (`--name` wins over the file) and its warnings. */
export function parseEndpointYaml(
  text: string,
  file: string,
  overrides: NameOverrides = {},
): ParsedSpec<EndpointSpec> {
  const parsed = parseYamlFile(text, file, endpointSpecSchema);
  const spec: EndpointSpec = { ...parsed.value, name: overrides.name ?? parsed.value.name };
  if (spec.name === undefined) throw missing(file, 'name', '--name');
  const target = spec.target ?? defaultTargetName;
  const warnings = [
    ...parsed.warnings,
    ...inapplicableFieldWarnings(endpointFieldRules, parsed.value, target, file, parsed.lineOf),
  ];
  if (spec.auth_mode === 'aml_token' || spec.auth_mode === 'aad_token') {
    warnings.push({
      file,
      line: parsed.lineOf(['auth_mode']),
      path: 'auth_mode',
      message: `${spec.auth_mode} is Azure's token mode: berth serves the endpoint with keys (auth_mode key)`,
    });
  }
  return { spec, warnings };
}

/** Maps Azure's auth modes onto berth's two; `none` is refused off the local target. */
export function resolveAuthMode(spec: EndpointSpec, target: string): AuthMode {
  if (spec.auth_mode !== 'none') return 'key';
  if (target !== defaultTargetName) {
    throw new BerthError(
      'INVALID_SPEC',
      `auth_mode none is only allowed on the local target, not on "${target}"`,
    );
  }
  return 'none';
}

/** A deployment file read: names settled, the file's own warnings (unknown fields), and its lines. */
export interface ReadDeploymentSpec {
  spec: DeploymentSpec;
  /** Warnings about the file alone; deploymentTargetWarnings adds those that depend on the target. */
  fileWarnings: SpecIssue[];
  lineOf: (path: readonly (string | number)[]) => number | undefined;
}

/** Reads a deployment file with names settled (`--name`, `--endpoint-name` win), before its target is known. */
export function readDeploymentYaml(
  text: string,
  file: string,
  overrides: NameOverrides = {},
): ReadDeploymentSpec {
  const parsed = parseYamlFile(text, file, deploymentSpecSchema);
  const spec: DeploymentSpec = {
    ...parsed.value,
    name: overrides.name ?? parsed.value.name,
    endpoint_name: overrides.endpointName ?? parsed.value.endpoint_name,
  };
  if (spec.name === undefined) throw missing(file, 'name', '--name');
  if (spec.endpoint_name === undefined) throw missing(file, 'endpoint_name', '--endpoint-name');
  return { spec, fileWarnings: parsed.warnings, lineOf: parsed.lineOf };
}

/** A deployment spec with names settled and its warnings, for the target the spec itself names (default local). */
export function parseDeploymentYaml(
  text: string,
  file: string,
  overrides: NameOverrides = {},
): ParsedSpec<DeploymentSpec> {
  const read = readDeploymentYaml(text, file, overrides);
  const warnings = [...read.fileWarnings, ...deploymentTargetWarnings(read.spec, file, read.lineOf)];
  return { spec: read.spec, warnings };
}

/**
 * Warnings for the fields of a deployment its target ignores. `target`: where it goes (a named
 * target's name and kind); default: the spec's own `target`, taken as a kind, else local.
 */
export function deploymentTargetWarnings(
  spec: DeploymentSpec,
  file: string,
  lineOf: (path: readonly (string | number)[]) => number | undefined = () => undefined,
  target: TargetRef = { name: spec.target ?? defaultTargetName, kind: spec.target ?? defaultTargetName },
): SpecIssue[] {
  const warnings = deploymentFieldWarnings(spec, target, file, lineOf);
  if (typeof spec.model === 'string' || spec.model.version === undefined) return warnings;
  warnings.push({
    file,
    line: lineOf(['model', 'version']),
    path: 'model.version',
    message: 'ignored: an inline model is registered as the next version of its name',
  });
  return warnings;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === undefined || next === null) node[part] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new BerthError('BAD_INPUT', `--set ${path.join('.')}: ${part} is not a mapping`);
    }
    node = node[part] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/**
 * Applies `key=value` edits (dotted paths; values read as YAML scalars, so `3` is a number) to a
 * stored deployment spec and validates the result. Names cannot be changed this way.
 */
export function applySpecEdits(spec: DeploymentSpec, edits: readonly string[]): DeploymentSpec {
  const edited = structuredClone(spec) as Record<string, unknown>;
  for (const edit of edits) {
    const at = edit.indexOf('=');
    const key = edit.slice(0, at).trim();
    if (at <= 0 || key === '')
      throw new BerthError('BAD_INPUT', `invalid --set ${JSON.stringify(edit)}: use key=value`);
    const path = key.split('.');
    if (path[0] === 'name' || path[0] === 'endpoint_name') {
      throw new BerthError('BAD_INPUT', `--set ${key}: a deployment's names cannot change`);
    }
    setPath(edited, path, parseYamlScalar(edit.slice(at + 1)) as unknown);
  }
  const result = deploymentSpecSchema.safeParse(edited, { reportInput: true });
  if (result.success) return result.data;
  // Reuse the YAML reporter's wording by checking the edited spec as a document of its own.
  try {
    parseYamlFile(JSON.stringify(edited), '--set', deploymentSpecSchema);
  } catch (error) {
    throw error instanceof BerthError
      ? new BerthError(error.code, error.message.replace(/--set:1: /g, '--set: '))
      : error;
  }
  throw specError(
    result.error.issues.map((issue) => ({
      file: '--set',
      line: undefined,
      path: formatSpecPath(issue.path as (string | number)[]),
      message: issue.message,
    })),
  );
}
