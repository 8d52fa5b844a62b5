/**
 * Reads a command job from its YAML file (errors as `job.yml:7: field: message`, unknown fields as
 * warnings) or from CLI flags, and resolves it (definition.ts). Relative paths (`code`, input
 * paths) are relative to the file's folder, or to the working folder for flags. Flags given with
 * a file replace the file's values: `--target` its `compute`, `--input` one input.
 */
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { BerthError } from '../core/errors.js';
import { readSpecFile } from '../core/spec-file.js';
import { formatSpecIssue, parseYamlFile, specError, type SpecIssue, type SpecPath } from '../core/yaml.js';
import { parseComputeRef } from '../batch/definition/compute.js';
import { parseCpu, parseMemory } from '../core/specs/quantities.js';
import { unboundReferences, type JobDefinition, type JobInput, type JobResources } from './definition.js';
import { condaFileOf, jobPython } from './python-environment.js';
import { commandJobSchema, type CommandJobFile } from './spec.js';

export interface JobOverrides {
  command?: string | undefined;
  code?: string | undefined;
  /** `NAME=VALUE`: an existing file or folder is bound as a path, anything else as a literal. */
  inputs?: readonly string[] | undefined;
  /** Output names. */
  outputs?: readonly string[] | undefined;
  /** `NAME=VALUE`. */
  env?: readonly string[] | undefined;
  target?: string | undefined;
  instanceCount?: number | undefined;
  timeoutSeconds?: number | undefined;
  maxRetries?: number | undefined;
  displayName?: string | undefined;
}

export interface LoadedJob {
  definition: JobDefinition;
  /** `job.yml:12: tags2: unknown field, ignored`-style lines. */
  warnings: string[];
}

type Locate = (path: SpecPath) => number | undefined;

const environmentUse =
  "a job runs with its target's programs (local, cluster and ssh: the machine's; container: the target's base image, plus Debian's Python and the conda file's packages for a Python job)";

/** The parts of `environment` berth reads but does not act on: all but a mapping's `conda_file`. */
function environmentNotUsed(environment: CommandJobFile['environment']): [SpecPath, string][] {
  if (environment === undefined) return [];
  if (typeof environment === 'string') return [[['environment'], `read but not used: ${environmentUse}`]];
  return Object.keys(environment)
    .filter((key) => !['conda_file', 'name', 'version', 'description'].includes(key))
    .map((key) => [['environment', key], `read but not used: ${environmentUse}`]);
}

function pathKind(path: string): 'uri_folder' | 'uri_file' | undefined {
  try {
    const info = statSync(path);
    return info.isDirectory() ? 'uri_folder' : info.isFile() ? 'uri_file' : undefined;
  } catch {
    return undefined;
  }
}

function splitPair(text: string, flag: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new BerthError('BAD_INPUT', `invalid ${flag} ${JSON.stringify(text)}: use NAME=VALUE`);
  return [text.slice(0, at), text.slice(at + 1)];
}

function resolveInput(
  name: string,
  input: NonNullable<CommandJobFile['inputs']>[string],
  baseDir: string,
  issue: (path: SpecPath, message: string) => void,
): JobInput | undefined {
  if (typeof input !== 'object') return { kind: 'value', value: String(input) };
  const isPath = input.type === undefined || input.type === 'uri_folder' || input.type === 'uri_file';
  if (!isPath || input.path === undefined) {
    if (input.value === undefined) {
      issue(['inputs', name], isPath ? 'expected a path' : 'expected a value');
      return undefined;
    }
    return { kind: 'value', value: String(input.value) };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(input.path) && !input.path.startsWith('file:')) {
    issue(['inputs', name, 'path'], `${JSON.stringify(input.path)}: only local paths are bound today`);
    return undefined;
  }
  const path = resolve(baseDir, input.path.replace(/^file:(\/\/)?/, ''));
  const found = pathKind(path);
  if (found === undefined) {
    issue(['inputs', name, 'path'], `${path} does not exist`);
    return undefined;
  }
  return { kind: 'path', type: found, path };
}

/** Docker's `shm_size` (`2g`: binary units, lower case) or a Kubernetes quantity. */
function parseShmSize(value: string | number): number | undefined {
  if (typeof value === 'number') return parseMemory(value);
  const docker = /^([0-9]+(?:\.[0-9]+)?)\s*([bkmg])$/.exec(value.trim());
  if (docker === null) return parseMemory(value);
  const units: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Math.round(Number(docker[1]) * (units[docker[2] ?? 'b'] ?? 1));
}

function resolveResources(
  resources: CommandJobFile['resources'],
  issue: (path: SpecPath, message: string) => void,
): JobResources {
  const shm = resources?.shm_size;
  const shmBytes = shm === undefined ? undefined : parseShmSize(shm);
  if (shm !== undefined && shmBytes === undefined)
    issue(['resources', 'shm_size'], 'expected a size, e.g. "2g" or "512Mi"');
  return {
    cpu: resources?.cpu === undefined ? undefined : parseCpu(resources.cpu),
    memoryBytes: resources?.memory === undefined ? undefined : parseMemory(resources.memory),
    shmBytes,
  };
}

function resolveFile(
  file: CommandJobFile,
  source: string,
  baseDir: string,
  locate: Locate,
  overrides: JobOverrides,
): LoadedJob {
  const issues: SpecIssue[] = [];
  const issue = (path: SpecPath, message: string): void => {
    issues.push({ file: source, line: locate(path), path: path.join('.'), message });
  };
  const warnings: string[] = [];
  const inputs: Record<string, JobInput> = {};
  for (const [name, input] of Object.entries(file.inputs ?? {})) {
    const resolved = resolveInput(name, input, baseDir, issue);
    if (resolved !== undefined) inputs[name] = resolved;
  }
  for (const text of overrides.inputs ?? []) {
    const [name, value] = splitPair(text, '--input');
    const path = resolve(value);
    const kind = pathKind(path);
    inputs[name] = kind === undefined ? { kind: 'value', value } : { kind: 'path', type: kind, path };
  }
  const outputs = [...new Set([...Object.keys(file.outputs ?? {}), ...(overrides.outputs ?? [])])];
  const environmentVariables: Record<string, string> = {};
  for (const [key, value] of Object.entries(file.environment_variables ?? {}))
    environmentVariables[key] = String(value);
  for (const text of overrides.env ?? []) {
    const [key, value] = splitPair(text, '--env');
    environmentVariables[key] = value;
  }
  const command = overrides.command ?? file.command;
  const unbound = unboundReferences(command, inputs, outputs).filter((ref) => {
    // An input left out because its path was wrong is already reported.
    return !(ref.startsWith('inputs.') && Object.hasOwn(file.inputs ?? {}, ref.slice(7)));
  });
  for (const ref of unbound) issue(['command'], `\${{${ref}}} names no ${ref.split('.')[0]?.slice(0, -1)}`);
  const codeText = overrides.code ?? file.code;
  const codeDir = codeText === undefined ? undefined : resolve(overrides.code ? '.' : baseDir, codeText);
  if (codeDir !== undefined && pathKind(codeDir) !== 'uri_folder')
    issue(['code'], `${codeDir} is not a folder`);
  const compute = overrides.target ?? file.compute ?? 'local';
  try {
    parseComputeRef(compute);
  } catch (error) {
    issue(['compute'], (error as Error).message);
  }
  const resources = resolveResources(file.resources, issue);
  const condaFile = condaFileOf(file.environment, baseDir);
  if (condaFile !== undefined && pathKind(condaFile) !== 'uri_file')
    issue(['environment', 'conda_file'], `${condaFile} does not exist`);
  if (issues.length > 0) throw specError(issues);
  const python = jobPython(command, condaFile, codeDir);
  for (const [path, message] of environmentNotUsed(file.environment)) {
    warnings.push(formatSpecIssue({ file: source, line: locate(path), path: path.join('.'), message }));
  }
  if (file.resources?.instance_type !== undefined) {
    warnings.push(
      formatSpecIssue({
        file: source,
        line: locate(['resources', 'instance_type']),
        path: 'resources.instance_type',
        message:
          'read but not used: berth has no machine sizes; a container job takes resources.cpu and resources.memory',
      }),
    );
  }
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(file.tags ?? {})) tags[key] = String(value);
  const definition: JobDefinition = {
    displayName:
      overrides.displayName ?? file.display_name ?? file.name ?? command.trim().split(/\s+/)[0] ?? 'job',
    experimentName: file.experiment_name ?? 'default',
    description: file.description ?? '',
    tags,
    command,
    codeDir,
    inputs,
    outputs,
    environmentVariables,
    compute,
    instanceCount: overrides.instanceCount ?? file.resources?.instance_count ?? 1,
    resources,
    timeoutSeconds: overrides.timeoutSeconds ?? file.limits?.timeout,
    maxRetries: overrides.maxRetries ?? file.limits?.max_retries ?? 2,
    python,
  };
  return { definition, warnings };
}

/** Reads and resolves `file`; flags in `overrides` replace what the file says. */
export async function loadJobFile(file: string, overrides: JobOverrides = {}): Promise<LoadedJob> {
  const path = resolve(file);
  const text = await readSpecFile(path);
  return parseJob(text, basename(path), dirname(path), overrides);
}

/** `source` names the text in messages; `baseDir` resolves its relative paths. */
export function parseJob(
  text: string,
  source: string,
  baseDir: string,
  overrides: JobOverrides = {},
): LoadedJob {
  const parsed = parseYamlFile(text, source, commandJobSchema);
  const loaded = resolveFile(parsed.value, source, baseDir, parsed.lineOf, overrides);
  return {
    definition: loaded.definition,
    warnings: [...parsed.warnings.map(formatSpecIssue), ...loaded.warnings],
  };
}

/** A job from flags alone (`--command`, `--code`, `--input`, `--target`…). */
export function jobFromFlags(overrides: JobOverrides): LoadedJob {
  if (overrides.command === undefined || overrides.command.trim() === '')
    throw new BerthError('BAD_INPUT', 'give a job file (-f job.yml) or a --command to run');
  return resolveFile({ command: overrides.command }, '--command', process.cwd(), () => undefined, overrides);
}
