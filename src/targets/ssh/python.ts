/**
 * Python scoring scripts on the ssh target's machine: the same worker as on the local and container
 * targets (berth's python/ folder, shipped by content like every artifact), run by the machine's
 * interpreter (`pythonPath`, Debian's /usr/bin/python3 by default). Before anything ships, one
 * command asks that interpreter for what the script needs: the projects its requirements name
 * (requirements.txt in the code folder, a conda file's dependencies) and the modules its files
 * import at top level. What is missing is reported with everything else the machine lacks.
 */
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pythonRoot } from '../../scoring/runtimes/python/engine.js';
import { normalizeName, type PythonRequirement } from '../container/python-requirements.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { shellQuote, type SshConnection } from './connection.js';

export interface PythonNeeds {
  /** Project names from the requirements (what pip would install), normalized. */
  projects: string[];
  /** Top-level modules the code folder's .py files import, other than its own. */
  modules: string[];
}

/** Projects berth's worker provides itself (its Azure compatibility package), or the interpreter's. */
function providedByBerth(name: string): boolean {
  return (
    name.startsWith('azureml') ||
    name === 'inference-schema' ||
    ['python', 'pip', 'setuptools', 'wheel', 'conda'].includes(name)
  );
}

/** Modules berth's compatibility package puts on the worker's path. */
const compatModules = new Set(['azureml', 'inference_schema']);

const importLine = /^(?:from\s+([A-Za-z_][\w]*)[\w.]*\s+import\s|import\s+([^#]+))/;

/** The top-level modules `.py` files under `codeDir` import (their first name only). */
export function importedModules(codeDir: string): string[] {
  const files = readdirSync(codeDir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.py'));
  const own = new Set(
    readdirSync(codeDir, { withFileTypes: true }).map((entry) => entry.name.replace(/\.py$/, '')),
  );
  const found = new Set<string>();
  for (const file of files) {
    for (const line of readFileSync(join(codeDir, file), 'utf8').split('\n')) {
      const match = importLine.exec(line);
      if (match === null) continue;
      const names = match[1] !== undefined ? [match[1]] : (match[2] ?? '').split(',');
      for (const name of names) {
        const first = name.trim().split(/\s+/)[0]?.split('.')[0] ?? '';
        if (/^[A-Za-z_]\w*$/.test(first) && !own.has(first) && !compatModules.has(first)) found.add(first);
      }
    }
  }
  return [...found].sort();
}

export function pythonNeeds(
  requirements: readonly PythonRequirement[],
  codeDir: string | undefined,
): PythonNeeds {
  const projects = new Set(
    requirements
      .map((requirement) => normalizeName(requirement.name))
      .filter((name) => !providedByBerth(name)),
  );
  return { projects: [...projects].sort(), modules: codeDir === undefined ? [] : importedModules(codeDir) };
}

/** Asks the interpreter which of `needs` it lacks: one JSON line back. */
function probe(needs: PythonNeeds): string {
  return [
    'import importlib.metadata, importlib.util, json, sys',
    `needs = json.loads(${JSON.stringify(JSON.stringify(needs))})`,
    'def has_project(name):',
    '    try:',
    '        importlib.metadata.distribution(name)',
    '        return True',
    '    except Exception:',
    '        return False',
    'def has_module(name):',
    '    try:',
    '        return importlib.util.find_spec(name) is not None',
    '    except Exception:',
    '        return False',
    'print(json.dumps({"version": sys.version.split()[0],',
    '    "projects": [p for p in needs["projects"] if not has_project(p)],',
    '    "modules": [m for m in needs["modules"] if not has_module(m)]}))',
    '',
  ].join('\n');
}

/**
 * What the machine's Python lacks to run the script, each with what to do; empty when nothing.
 * Only reads: nothing is installed.
 */
export async function pythonProblems(
  connection: SshConnection,
  config: ResolvedSshTargetConfig,
  needs: PythonNeeds,
): Promise<string[]> {
  const python = shellQuote(config.pythonPath);
  const result = await connection.exec(`${python} -`, probe(needs));
  let answer: { version: string; projects: string[]; modules: string[] } | undefined;
  try {
    answer = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as typeof answer;
  } catch {
    answer = undefined;
  }
  if (result.code !== 0 || answer === undefined) {
    const why = result.code === 127 ? 'not found' : `it failed: ${result.stderr.trim().slice(0, 300)}`;
    return [
      `no Python for the scoring script at "${config.pythonPath}" (${why}): install python3 there (Debian: apt-get install python3) or set the target's pythonPath`,
    ];
  }
  const problems: string[] = [];
  if (answer.projects.length > 0) {
    problems.push(
      `Python ${answer.version} at ${config.pythonPath} lacks ${answer.projects.join(', ')} (from the requirements): install them there (Debian: apt-get install ${answer.projects.map(debianName).join(' ')}; or pip install ${answer.projects.join(' ')})`,
    );
  }
  if (answer.modules.length > 0) {
    problems.push(
      `Python ${answer.version} at ${config.pythonPath} cannot import ${answer.modules.join(', ')} (imported by the scoring code): install the packages that provide them there`,
    );
  }
  return problems;
}

const debianNames: Readonly<Record<string, string>> = {
  'scikit-learn': 'python3-sklearn',
  pillow: 'python3-pil',
  pyyaml: 'python3-yaml',
};

function debianName(project: string): string {
  return debianNames[project] ?? `python3-${project}`;
}

/**
 * berth's python/ folder without compiled files, copied under the cache so it ships by content
 * (a `__pycache__` written by a local run must not make it a new artifact).
 */
export function pythonWorkerFolder(cacheDir: string): string {
  const dir = join(cacheDir, 'python-worker');
  rmSync(dir, { recursive: true, force: true });
  cpSync(pythonRoot, dir, {
    recursive: true,
    filter: (source) => !source.includes('__pycache__') && !source.endsWith('.pyc'),
  });
  return dir;
}

/** The environment a server or batch worker needs to run a `.py` script with the shipped worker. */
export function pythonEnvironment(
  config: ResolvedSshTargetConfig,
  workerDir: string,
): Record<string, string> {
  return { BERTH_PYTHON: config.pythonPath, BERTH_PYTHON_ROOT: `${workerDir}/` };
}
