/**
 * The loader that lets Node 20 run a job's TypeScript, as two files of the `berth-run` package
 * written beside the code (node-module.ts). `typescript.mjs`, given to each Node process of the
 * job through `NODE_OPTIONS=--import=…` (typescript.ts), turns on source maps and registers
 * `typescript-hooks.mjs`, whose hooks:
 *
 * - resolve: from a `.ts` module, `./x.js` finds `./x.ts` (TypeScript's NodeNext habit), `./x.mjs`
 *   finds `./x.mts`, and `./x` finds `./x.ts`, `./x.mts` or `./x/index.ts`, when the file named is
 *   not there;
 * - load: a `.ts`/`.mts` file of the code folder is the JavaScript compiled from it when the job
 *   was created (`<code>/.berth-js/…`), as an ES module. Nothing is compiled where the job runs, so
 *   the machine needs Node and nothing else.
 *
 * Plain JavaScript with no imports but Node's, because it runs wherever the job runs.
 */
const register = `// Runs the berth job's TypeScript: source maps on, then the hooks (typescript-hooks.mjs).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./typescript-hooks.mjs', import.meta.url);
`;

const hooks = `// Resolves and loads the berth job's TypeScript from the JavaScript compiled when the job was created.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const codeDir = fileURLToPath(new URL('../../code/', import.meta.url));
const codeDirs = [codeDir];
try {
  codeDirs.push(realpathSync(codeDir));
} catch {
  // no code folder: nothing of it to load
}
const typeScript = /\\.m?ts$/;
const declaration = /\\.d\\.m?ts$/;

function isFile(url) {
  try {
    return url.protocol === 'file:' && statSync(fileURLToPath(url)).isFile();
  } catch {
    return false;
  }
}

function isPath(specifier) {
  return /^(?:\\.{1,2}\\/|\\/|file:)/.test(specifier);
}

/** What a TypeScript module may mean by a path that names no file. */
function candidates(specifier) {
  if (/\\.js$/.test(specifier)) return [specifier.replace(/\\.js$/, '.ts')];
  if (/\\.mjs$/.test(specifier)) return [specifier.replace(/\\.mjs$/, '.mts')];
  if (/\\.(?:[cm]?[jt]sx?|json|node)$/.test(specifier)) return [];
  const bare = specifier.replace(/\\/$/, '');
  return [bare + '.ts', bare + '.mts', bare + '/index.ts'];
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const parent = context.parentURL;
    if (parent === undefined || !parent.startsWith('file:') || !typeScript.test(new URL(parent).pathname) || !isPath(specifier))
      throw error;
    for (const candidate of candidates(specifier)) {
      const url = new URL(candidate, parent);
      if (isFile(url)) return { url: url.href, shortCircuit: true };
    }
    throw error;
  }
}

function inCodeFolder(path) {
  for (const dir of codeDirs) {
    const inside = relative(dir, path);
    if (inside !== '' && !inside.startsWith('..') && !isAbsolute(inside)) return inside;
  }
  return undefined;
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:')) return nextLoad(url, context);
  const path = fileURLToPath(url);
  if (!typeScript.test(path) || declaration.test(path)) return nextLoad(url, context);
  const inside = inCodeFolder(path);
  if (inside === undefined)
    throw new Error(
      'berth: cannot run ' + path + ': only the TypeScript of the job\\'s code folder (' + codeDir + ') is compiled, when the job is created',
    );
  let source;
  try {
    source = readFileSync(join(codeDirs[0], '.berth-js', inside.replace(typeScript, '.js')), 'utf8');
  } catch {
    throw new Error(
      'berth: cannot run ' + path + ': it has no compiled JavaScript (TypeScript under node_modules/, or written after the job was created, is not compiled)',
    );
  }
  return { format: 'module', source, shortCircuit: true };
}
`;

/** The loader's files, by path inside `node_modules/berth-run`. */
export const typeScriptLoaderFiles: Readonly<Record<string, string>> = {
  'typescript.mjs': register,
  'typescript-hooks.mjs': hooks,
};
