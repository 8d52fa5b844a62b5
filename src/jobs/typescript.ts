/**
 * TypeScript job scripts: `node train.ts` runs on every target, Node 20 included, with nothing but
 * Node on the machine. When the code is snapshotted, each `.ts` / `.mts` file (not `.d.ts`, not
 * under `node_modules/`) is turned into JavaScript by esbuild, the compiler the scoring server uses
 * for TypeScript scoring scripts, and the result is stored in the snapshot under
 * `.berth-js/<path with .js>`, with an inline source map, so stack traces name the `.ts` lines. The
 * job's Node processes get `--import` of a small loader (typescript-loader.ts, written beside the
 * code with `berth-run`) that hands Node that JavaScript when it loads a `.ts` file.
 *
 * Types are stripped, never checked (as tsx and esbuild do): a type error does not stop a job. A
 * syntax error does, at `job create`, naming file:line:column, before anything is stored or shipped.
 * The nearest `tsconfig.json` in the code folder is read for what changes the emitted JavaScript
 * (decorators, class fields, `verbatimModuleSyntax`); its `extends` is not followed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transform, type Message, type TransformFailure } from 'esbuild';
import { BerthError } from '../core/errors.js';

/** The snapshot's folder of compiled JavaScript, beside the code it came from. */
export const compiledFolder = '.berth-js';
/** The loader's file inside the run's `node_modules/berth-run`. */
export const loaderFile = 'typescript.mjs';

const typeScriptFile = /\.m?ts$/;

/** The code files esbuild compiles: TypeScript modules that are the user's own. */
export function typeScriptSources(files: readonly string[]): string[] {
  return files.filter(
    (file) =>
      typeScriptFile.test(file) &&
      !/\.d\.m?ts$/.test(file) &&
      !file.split('/').includes('node_modules') &&
      !file.startsWith(`${compiledFolder}/`),
  );
}

/** Where `file` (a POSIX path in the code folder) is compiled to, in the same form. */
export function compiledPathOf(file: string): string {
  return `${compiledFolder}/${file.replace(typeScriptFile, '.js')}`;
}

interface Tsconfig {
  /** POSIX path in the code folder. */
  path: string;
  text: string;
}

/** The nearest tsconfig.json at or above `file`'s folder, inside the code folder. */
async function tsconfigOf(
  codeDir: string,
  file: string,
  cache: Map<string, Tsconfig | undefined>,
): Promise<Tsconfig | undefined> {
  const parts = file.split('/').slice(0, -1);
  for (let depth = parts.length; depth >= 0; depth -= 1) {
    const folder = parts.slice(0, depth).join('/');
    if (!cache.has(folder)) {
      const path = folder === '' ? 'tsconfig.json' : `${folder}/tsconfig.json`;
      const absolute = join(codeDir, ...path.split('/'));
      cache.set(folder, existsSync(absolute) ? { path, text: await readFile(absolute, 'utf8') } : undefined);
    }
    const found = cache.get(folder);
    if (found !== undefined) return found;
  }
  return undefined;
}

function isTransformFailure(error: unknown): error is TransformFailure {
  return error instanceof Error && Array.isArray((error as Partial<TransformFailure>).errors);
}

function describeMessage(
  displayDir: string,
  source: string,
  tsconfig: Tsconfig | undefined,
  message: Message,
): string {
  const at = message.location;
  // esbuild names a fault of the tsconfig it was given "<tsconfig.json>".
  const file = at?.file === '<tsconfig.json>' && tsconfig !== undefined ? tsconfig.path : source;
  const where =
    at === null ? join(displayDir, file) : `${join(displayDir, file)}:${at.line}:${at.column + 1}`;
  const line = at?.lineText === undefined || at.lineText === '' ? '' : `\n    ${at.lineText.trim()}`;
  return `${where}: ${message.text}${line}`;
}

/**
 * Compiles the TypeScript among `files` (paths relative to `codeDir`) into `codeDir/.berth-js/`;
 * resolves the compiled files' paths. `displayDir` is the folder named in errors (the user's code
 * folder, when `codeDir` is a copy). Every file's syntax errors are reported together.
 */
export async function compileTypeScript(
  codeDir: string,
  files: readonly string[],
  displayDir = codeDir,
): Promise<string[]> {
  const sources = typeScriptSources(files);
  const tsconfigs = new Map<string, Tsconfig | undefined>();
  const problems = new Set<string>();
  const written: string[] = [];
  for (const file of sources) {
    const source = await readFile(join(codeDir, ...file.split('/')), 'utf8');
    const tsconfig = await tsconfigOf(codeDir, file, tsconfigs);
    try {
      const result = await transform(source, {
        loader: 'ts',
        format: 'esm',
        platform: 'node',
        target: 'node20',
        sourcemap: 'inline',
        // The module's URL is the .ts file's, so the map names it relative to itself.
        sourcefile: file.split('/').at(-1) ?? file,
        logLevel: 'silent',
        ...(tsconfig === undefined ? {} : { tsconfigRaw: tsconfig.text }),
      });
      const target = join(codeDir, ...compiledPathOf(file).split('/'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, result.code);
      written.push(compiledPathOf(file));
    } catch (error) {
      if (!isTransformFailure(error)) throw error;
      for (const message of error.errors) problems.add(describeMessage(displayDir, file, tsconfig, message));
    }
  }
  if (problems.size > 0) {
    throw new BerthError(
      'INVALID_SPEC',
      `the job's TypeScript does not compile (types are not checked; these are syntax errors):\n${[...problems].join('\n')}`,
    );
  }
  return written;
}

/**
 * The job's `NODE_OPTIONS` once its snapshot holds compiled TypeScript: the options it had (the
 * job's own, or the machine's), then `--import` of the loader. `runDir` is the run folder as the
 * command sees it (the host's path, a container's mount point, the ssh machine's folder).
 */
export function typeScriptNodeOptions(runDir: string, existing: string | undefined): string {
  const loader = pathToFileURL(join(runDir, 'node_modules', 'berth-run', loaderFile)).href;
  return [existing, `--import=${loader}`]
    .filter((part) => part !== undefined && part.trim() !== '')
    .join(' ');
}

/** Whether a working folder (the exported snapshot) holds compiled TypeScript. */
export function hasCompiledTypeScript(workDir: string): boolean {
  return existsSync(join(workDir, compiledFolder));
}
