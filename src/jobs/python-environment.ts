/**
 * Whether a job asks for Python, and with which packages: the requirements of its
 * `environment.conda_file` and of its code folder's `requirements.txt` (read at submit, so the run
 * record keeps what was asked), or a command that calls `python`/`python3` as a program. A container target
 * builds Debian's Python and these packages into the job's image, with the same Python layer a
 * deployment's `.py` scoring script gets; the other targets run the machine's own Python.
 */
import { resolve } from 'node:path';
import {
  codeFolderRequirements,
  readCondaFile,
  type PythonRequirement,
} from '../targets/container/python-requirements.js';

export interface JobPython {
  /** What the conda file and requirements.txt name; empty for a command that only runs Python. */
  requirements: PythonRequirement[];
}

/**
 * `python`, `python3`, `/usr/bin/python3.11`… in a command position: at the start, after `;`, `&&`,
 * `||`, `|`, `(`, `then`, `do` or `else`, after `VAR=value` assignments and `exec`/`env`/`nohup`/`time`.
 */
const runsPython =
  /(?:^|[;&|(\n]|\b(?:then|do|else)\s)\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:(?:exec|env|nohup|time)\s+)*(?:\S*\/)?python3?(?:\.\d+)?(?=\s|;|$)/;

export function commandRunsPython(command: string): boolean {
  return runsPython.test(command);
}

/** The conda file an Azure environment mapping names, or undefined (an `azureml:NAME` reference has none here). */
export function condaFileOf(environment: unknown, baseDir: string): string | undefined {
  if (typeof environment !== 'object' || environment === null) return undefined;
  const file = (environment as { conda_file?: unknown }).conda_file;
  return typeof file === 'string' ? resolve(baseDir, file) : undefined;
}

/** The job's Python, or undefined when it asks for none. Throws INVALID_SPEC for a requirement that names a download. */
export function jobPython(
  command: string,
  condaFile: string | undefined,
  codeDir: string | undefined,
): JobPython | undefined {
  const requirements = [
    ...(condaFile === undefined ? [] : readCondaFile(condaFile, 'environment.conda_file')),
    ...(codeDir === undefined ? [] : codeFolderRequirements(codeDir)),
  ];
  if (requirements.length === 0 && !commandRunsPython(command)) return undefined;
  return { requirements };
}
