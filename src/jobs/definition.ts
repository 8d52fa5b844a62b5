/**
 * A command job resolved from its file or from CLI flags: paths absolute, defaults filled, every
 * `${{inputs.x}}` and `${{outputs.x}}` of the command checked against the inputs and outputs, so
 * a run never starts with a reference it cannot bind.
 */
import { BerthError } from '../core/errors.js';
import type { JobPython } from './python-environment.js';

export type JobInput =
  { kind: 'path'; type: 'uri_folder' | 'uri_file'; path: string } | { kind: 'value'; value: string };

export interface JobDefinition {
  /** The file's `display_name` or `name`, else the command's first word. */
  displayName: string;
  experimentName: string;
  description: string;
  tags: Record<string, string>;
  /** The command as written, with its `${{…}}` references. */
  command: string;
  /** The folder snapshotted and run in; undefined runs in an empty folder. */
  codeDir: string | undefined;
  inputs: Record<string, JobInput>;
  /** Output names: each is a folder under the run's `outputs/`. */
  outputs: string[];
  environmentVariables: Record<string, string>;
  /** Where it runs, as written (`local`, a target's name, `azureml:NAME`). */
  compute: string;
  instanceCount: number;
  /** Engine limits (`resources.cpu`, `memory`, `shm_size`); undefined fields are not limited. */
  resources: JobResources;
  /** Undefined: no limit. */
  timeoutSeconds: number | undefined;
  /** Retries of a cluster run whose worker disappeared (`limits.max_retries`, default 2). */
  maxRetries: number;
  /**
   * Python asked for (a conda file, requirements.txt, or a command that runs python): a container
   * target puts Debian's Python and these packages in the job's image. Undefined: none asked for.
   */
  python: JobPython | undefined;
}

export interface JobResources {
  cpu: number | undefined;
  memoryBytes: number | undefined;
  shmBytes: number | undefined;
}

const reference = /\$\{\{\s*(inputs|outputs)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The `inputs.x` / `outputs.x` references of a command that name nothing; empty when all bind. */
export function unboundReferences(
  command: string,
  inputs: Readonly<Record<string, unknown>>,
  outputs: readonly string[],
): string[] {
  const missing: string[] = [];
  for (const match of command.matchAll(reference)) {
    const [, group, key] = match as unknown as [string, 'inputs' | 'outputs', string];
    const known = group === 'inputs' ? Object.hasOwn(inputs, key) : outputs.includes(key);
    if (!known) missing.push(`${group}.${key}`);
  }
  return missing;
}

/** Quotes a value for `sh -c` only when it needs it, so the command reads as written. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command with its references replaced: a path input by its path, a literal by its value, an
 * output by `outputsDir/<name>`. Throws INVALID_SPEC for a reference that names nothing.
 */
export function substituteCommand(
  command: string,
  inputs: Readonly<Record<string, JobInput>>,
  outputs: Readonly<Record<string, string>>,
): string {
  return command.replace(reference, (_text, group: string, key: string) => {
    const bound =
      group === 'inputs'
        ? ((input) => (input === undefined ? undefined : input.kind === 'path' ? input.path : input.value))(
            inputs[key],
          )
        : outputs[key];
    if (bound === undefined)
      throw new BerthError('INVALID_SPEC', `command: \${{${group}.${key}}} names no ${group.slice(0, -1)}`);
    return shellQuote(bound);
  });
}
