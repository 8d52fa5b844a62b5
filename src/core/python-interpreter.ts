/**
 * Which Python runs scoring scripts: the one named (`--python`, the `python` scoring option), else
 * $BERTH_PYTHON, else /usr/bin/python3 when it can import numpy (Debian's interpreter, where the
 * python3-numpy, -pandas, -sklearn and -torch packages install), else `python3` from PATH. The
 * choice and its reason are logged when the engine starts.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON_ENV = 'BERTH_PYTHON';
const SYSTEM_PYTHON = '/usr/bin/python3';

export interface PythonChoice {
  path: string;
  /** Why this interpreter: 'option', 'environment', 'system (imports numpy)' or 'PATH'. */
  source: string;
}

export function choosePython(given: string | undefined, env: NodeJS.ProcessEnv = process.env): PythonChoice {
  if (given !== undefined && given !== '') return { path: given, source: 'the python option' };
  const fromEnv = env[PYTHON_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, source: `$${PYTHON_ENV}` };
  if (importsNumpy(SYSTEM_PYTHON)) return { path: SYSTEM_PYTHON, source: 'it imports numpy' };
  return { path: 'python3', source: `PATH (${SYSTEM_PYTHON} cannot import numpy)` };
}

const numpyChecks = new Map<string, boolean>();

function importsNumpy(path: string): boolean {
  let known = numpyChecks.get(path);
  if (known === undefined) {
    const result = spawnSync(path, ['-c', 'import numpy'], { stdio: 'ignore', timeout: 30_000 });
    known = result.status === 0;
    numpyChecks.set(path, known);
  }
  return known;
}
