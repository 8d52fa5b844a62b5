/**
 * Reads a scikit-learn or PyTorch model by loading it in Python (python/berth_inspect.py): the
 * estimator's type, features and classes; a TorchScript module's forward() inputs; a state dict's
 * size. Registration uses it to refuse a file that does not load; `model show` to print what it
 * holds. Loading unpickles the file, which runs code from it: only register models you trust.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../core/errors.js';
import type { Framework } from '../core/model.js';
import { choosePython } from '../core/python-interpreter.js';

const inspector = fileURLToPath(new URL('../../../python/berth_inspect.py', import.meta.url));

export type InspectedFramework = 'sklearn' | 'pytorch';

export function isInspected(framework: Framework): framework is InspectedFramework {
  return framework === 'sklearn' || framework === 'pytorch';
}

/** What was read; or why nothing could be (no interpreter, or it lacks the framework's library). */
export type PythonModelReading =
  { ok: true; info: Record<string, unknown> } | { ok: false; unavailable: string };

/** Throws INVALID_MODEL when Python loads the file and finds it is not a model of this framework. */
export async function inspectPythonModel(
  framework: InspectedFramework,
  path: string,
  python = choosePython(undefined).path,
): Promise<PythonModelReading> {
  const { code, stdout, stderr } = await run(python, [inspector, framework, path]);
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (code === 0 && parsed !== undefined) return { ok: true, info: parsed };
  const error = typeof parsed?.error === 'string' ? parsed.error : undefined;
  if (error === undefined) {
    return { ok: false, unavailable: `${python} could not run: ${stderr.trim() || `exit ${code}`}` };
  }
  if (/^ModuleNotFoundError: No module named '(joblib|sklearn|torch)/.test(error)) {
    return { ok: false, unavailable: `${python}: ${error}` };
  }
  throw new BerthError('INVALID_MODEL', `framework ${framework}: ${path} does not load: ${error}`);
}

function run(
  command: string,
  args: string[],
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : (error.code ?? 1);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `model show` lines for what was read. */
export function describeReading(reading: PythonModelReading): string[] {
  if (!reading.ok) return [`  python:      not read (${reading.unavailable})`];
  const info = reading.info;
  const lines: string[] = [];
  const add = (label: string, value: unknown): void => {
    if (value === undefined) return;
    const text =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : JSON.stringify(value);
    lines.push(`  ${`${label}:`.padEnd(13)}${text}`);
  };
  add('file', info.file);
  add('kind', info.kind);
  add('estimator', info.estimator);
  if (Array.isArray(info.steps)) add('steps', info.steps.join(', '));
  add('features', info.features);
  if (Array.isArray(info.featureNames)) add('feature names', info.featureNames.join(', '));
  if (Array.isArray(info.classes)) add('classes', info.classes.join(', '));
  add('module', info.module);
  if (Array.isArray(info.inputs)) {
    lines.push('  inputs:');
    for (const input of info.inputs as { name: string; type: string }[])
      lines.push(`    ${input.name}: ${input.type}`);
  }
  if (Array.isArray(info.outputs)) add('outputs', info.outputs.join(', '));
  add('tensors', info.tensors);
  add('parameters', info.parameters);
  if (Array.isArray(info.scripts) && info.scripts.length > 0) add('scripts', info.scripts.join(', '));
  return lines;
}
