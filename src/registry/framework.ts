/**
 * Decides a model's framework from its files, or checks the one the user named. `onnx` needs an
 * ONNX file berth can serve directly: a `.onnx` file, or a folder holding exactly one (or the one
 * the user names). `custom` and `python` accept anything, because an entry script loads it;
 * `sklearn` and `pytorch` are checked by loading them in Python (python-model.ts).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BerthError } from '../core/errors.js';
import { frameworks } from '../core/model.js';
import type { Framework } from '../core/model.js';

export interface FrameworkChoice {
  framework: Framework;
  /** For a folder registered as `onnx`: the served file's path inside it, with `/` separators. */
  modelFile: string | undefined;
}

export interface FrameworkOptions {
  /** For a folder: the `.onnx` file to serve, relative to it. Defaults to the folder's only `.onnx` file. */
  modelFile?: string;
}

/**
 * Guesses the framework when the user names none: `onnx` for a `.onnx` file or a folder with one
 * `.onnx` file (or `options.modelFile`); `custom` when there is no `.onnx` file. A folder with several
 * `.onnx` files and no `modelFile` is an error: guessing which one to serve would be a silent bet.
 */
export async function detectFramework(
  path: string,
  isFolder: boolean,
  options: FrameworkOptions = {},
): Promise<FrameworkChoice> {
  if (!isFolder) return { framework: isOnnxFile(path) ? 'onnx' : 'custom', modelFile: undefined };
  if (options.modelFile !== undefined)
    return { framework: 'onnx', modelFile: await checkModelFile(path, options.modelFile) };
  const found = await findOnnxFiles(path);
  if (found.length === 0) return { framework: 'custom', modelFile: undefined };
  return { framework: 'onnx', modelFile: pickOnly(path, found) };
}

/** Checks a framework the user named against the files; throws BAD_INPUT or INVALID_MODEL with the fix. */
export async function checkFramework(
  requested: string,
  path: string,
  options: FrameworkOptions = {},
): Promise<FrameworkChoice> {
  const framework = parseFramework(requested);
  const isFolder = await isDirectory(path);
  if (framework !== 'onnx') return { framework, modelFile: undefined };
  if (!isFolder) {
    if (!isOnnxFile(path)) {
      throw new BerthError(
        'INVALID_MODEL',
        `framework onnx needs a .onnx file, got ${path} (use framework custom)`,
      );
    }
    return { framework, modelFile: undefined };
  }
  if (options.modelFile !== undefined)
    return { framework, modelFile: await checkModelFile(path, options.modelFile) };
  const found = await findOnnxFiles(path);
  if (found.length === 0) {
    throw new BerthError('INVALID_MODEL', `framework onnx needs a .onnx file, and folder ${path} holds none`);
  }
  return { framework, modelFile: pickOnly(path, found) };
}

export function parseFramework(value: string): Framework {
  const match = frameworks.find((framework) => framework === value);
  if (match === undefined) {
    throw new BerthError('BAD_INPUT', `unknown framework '${value}': use one of ${frameworks.join(', ')}`);
  }
  return match;
}

function isOnnxFile(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}

function pickOnly(folder: string, found: string[]): string {
  const [only, ...others] = found;
  if (only === undefined || others.length > 0) {
    throw new BerthError(
      'BAD_INPUT',
      `folder ${folder} holds ${found.length} .onnx files (${found.join(', ')}): name the one to serve`,
    );
  }
  return only;
}

async function checkModelFile(folder: string, modelFile: string): Promise<string> {
  const normalized = relative(folder, join(folder, modelFile));
  if (normalized.startsWith('..') || normalized === '') {
    throw new BerthError('PATH_ESCAPES', `model file ${modelFile} is outside folder ${folder}`);
  }
  if (!isOnnxFile(normalized))
    throw new BerthError('BAD_INPUT', `model file ${modelFile} is not a .onnx file`);
  const info = await stat(join(folder, normalized)).catch(() => undefined);
  if (!info?.isFile())
    throw new BerthError('PATH_NOT_FOUND', `model file ${modelFile} is not in folder ${folder}`);
  return normalized.split(sep).join('/');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    throw new BerthError('PATH_NOT_FOUND', `${path} does not exist`, { cause: error });
  }
}

/**
 * Every `.onnx` file under `folder`, as sorted relative paths with `/` separators. Walked by hand
 * because `Dirent.parentPath` (for `readdir`'s recursive mode) only arrived in Node 20.12.
 */
async function findOnnxFiles(folder: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(folder, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await findOnnxFiles(folder, path)));
    else if (entry.isFile() && isOnnxFile(entry.name)) found.push(path);
  }
  return found.sort();
}
