/**
 * A Python scoring script's requirements, as Debian packages: `requirements.txt` in the code folder
 * or the `dependencies` of a conda file (its `pip:` list included) are read into project names, and
 * each name becomes the installed Debian package that holds it (found by the `*.dist-info` or
 * `*.egg-info` folder dpkg installed for it, else `python3-<name>` or the table below).
 *
 * What is not mapped: version specifiers (Debian's version is used, with a warning naming both);
 * `-r`/`-e`/URL lines (refused: nothing can be downloaded). A name no installed package provides is
 * an error naming it and the package to install, before anything is built: the script would
 * otherwise fail at init inside the container.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BerthError } from '../../core/errors.js';
import { owningPackage, type DebianDatabase } from './debian-packages.js';

export interface PythonRequirement {
  /** The project name as written (`scikit-learn`). */
  name: string;
  /** The version specifier as written (`>=1.2`), or ''. */
  specifier: string;
  /** `requirements.txt:3`, `conda.yml: dependencies[2]`: where the error or warning points. */
  where: string;
}

export interface RequirementPackages {
  /** Debian packages to put in the layer (their dependencies are added later). */
  packages: string[];
  warnings: string[];
}

/** The folder Debian's Python packages install to. */
export const distPackagesDir = '/usr/lib/python3/dist-packages';

/** Projects whose Debian package is not `python3-<name>`. */
const debianNames: Readonly<Record<string, string>> = {
  'scikit-learn': 'python3-sklearn',
  sklearn: 'python3-sklearn',
  torch: 'python3-torch',
  pytorch: 'python3-torch',
  pillow: 'python3-pil',
  pyyaml: 'python3-yaml',
  'opencv-python': 'python3-opencv',
  'opencv-python-headless': 'python3-opencv',
  beautifulsoup4: 'python3-bs4',
  'python-dateutil': 'python3-dateutil',
  pytz: 'python3-tz',
  'scikit-image': 'python3-skimage',
};

/** Projects berth itself provides in the worker, or that describe the interpreter, not a package. */
function provided(name: string): string | undefined {
  if (name.startsWith('azureml') || name === 'inference-schema') {
    return "berth's Azure compatibility package provides it (python/README.md lists the covered APIs)";
  }
  if (['python', 'pip', 'setuptools', 'wheel', 'conda'].includes(name)) {
    return "the image's Python is Debian's python3 with its own packaging tools";
  }
  return undefined;
}

/** PEP 503's normal form: lower case, runs of `-`, `_` and `.` as one `-`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

const requirementLine = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/;

function parseRequirement(text: string, where: string): PythonRequirement {
  const line = text.split(';')[0]!.trim();
  if (/^(-|[a-z+]+:\/\/)/i.test(line) || line.includes('@') || line.includes('/')) {
    throw new BerthError(
      'INVALID_SPEC',
      `${where}: ${line}: only package names (with optional versions) can be honoured: nothing can be downloaded here`,
    );
  }
  const match = requirementLine.exec(line);
  if (match === null) throw new BerthError('INVALID_SPEC', `${where}: cannot read the requirement "${line}"`);
  return { name: match[1]!, specifier: (match[3] ?? '').replace(/\s+/g, ''), where };
}

/** The lines of a pip requirements file (comments and blank lines skipped). */
export function readRequirementsFile(path: string, label = 'requirements.txt'): PythonRequirement[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line, index) => ({ text: line.replace(/(^|\s)#.*$/, '').trim(), line: index + 1 }))
    .filter(({ text }) => text !== '')
    .map(({ text, line }) => parseRequirement(text, `${label}:${line}`));
}

/** A conda file's `dependencies` (conda `name=version` and the nested `pip:` list alike). */
export function readCondaFile(path: string, label = 'conda file'): PythonRequirement[] {
  const document = parse(readFileSync(path, 'utf8')) as { dependencies?: unknown } | null;
  const dependencies = document?.dependencies;
  if (!Array.isArray(dependencies)) return [];
  const out: PythonRequirement[] = [];
  dependencies.forEach((entry: unknown, index) => {
    const where = `${label}: dependencies[${index}]`;
    if (typeof entry === 'string') {
      // conda writes `numpy=1.24` (one `=`) and sometimes a channel prefix `conda-forge::numpy`.
      const spec = entry.replace(/^[^:]+::/, '').replace(/^([^=<>!~\s]+)=(?!=)/, '$1==');
      out.push(parseRequirement(spec, where));
    } else if (
      typeof entry === 'object' &&
      entry !== null &&
      Array.isArray((entry as { pip?: unknown }).pip)
    ) {
      for (const [pipIndex, pip] of (entry as { pip: unknown[] }).pip.entries()) {
        out.push(parseRequirement(String(pip), `${where}.pip[${pipIndex}]`));
      }
    }
  });
  return out;
}

/** The requirements a code folder declares: `requirements.txt` at its top, or none. */
export function codeFolderRequirements(codeDir: string): PythonRequirement[] {
  const path = join(codeDir, 'requirements.txt');
  return existsSync(path) ? readRequirementsFile(path) : [];
}

let installedProjects: Map<string, string> | undefined;

/** Normalised project name → its metadata folder in dist-packages (what dpkg installed). */
function projectsInDistPackages(): Map<string, string> {
  if (installedProjects !== undefined) return installedProjects;
  installedProjects = new Map();
  const entries = existsSync(distPackagesDir) ? readdirSync(distPackagesDir) : [];
  for (const entry of entries) {
    const match = /^([^-]+)-.*\.(dist-info|egg-info)$/.exec(entry);
    if (match !== null) installedProjects.set(normalizeName(match[1]!), join(distPackagesDir, entry));
  }
  return installedProjects;
}

/** Maps each requirement to an installed Debian package; throws one error naming every missing one. */
export function debianPackagesFor(
  requirements: readonly PythonRequirement[],
  database: DebianDatabase,
): RequirementPackages {
  const packages = new Set<string>();
  const warnings: string[] = [];
  const missing: string[] = [];
  for (const requirement of requirements) {
    const name = normalizeName(requirement.name);
    const why = provided(name);
    if (why !== undefined) {
      warnings.push(`${requirement.where}: ${requirement.name} is not installed: ${why}`);
      continue;
    }
    const metadata = projectsInDistPackages().get(name);
    const owner = metadata === undefined ? undefined : owningPackage(metadata);
    const candidate = owner ?? debianNames[name] ?? `python3-${name}`;
    const found = database.installed.get(candidate);
    if (found === undefined) {
      missing.push(
        `${requirement.where}: ${requirement.name}: Debian package ${candidate} is not installed on this machine (apt-get install ${candidate})`,
      );
      continue;
    }
    packages.add(found.name);
    if (requirement.specifier !== '') {
      warnings.push(
        `${requirement.where}: ${requirement.name}${requirement.specifier}: Debian's ${found.name} ${found.version} is used (version specifiers are not checked)`,
      );
    }
  }
  if (missing.length > 0) {
    throw new BerthError(
      'INVALID_SPEC',
      `the Python image layer is built from this machine's Debian packages, and ${missing.length === 1 ? 'one requirement has' : `${missing.length} requirements have`} none:\n${missing.join('\n')}`,
    );
  }
  return { packages: [...packages].sort(), warnings };
}
