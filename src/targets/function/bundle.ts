/**
 * The runtime folder every function package carries as `berth/`: one handler shape bundled with
 * esbuild (the scoring server inside it), beside the container bundle's engine worker and runtime
 * packages (onnxruntime-node with its linux/x64 libraries, esbuild for TypeScript scoring
 * scripts), which are copied as they are. The worker sits next to the handler because the engine
 * loads it through `new URL('./worker.js', import.meta.url)`. Built once per process, cache folder
 * and kind.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BerthError } from '../../core/errors.js';
import { serverBundle } from '../container/bundle.js';
import type { FunctionKind } from './kinds.js';

export interface FunctionBundle {
  /** The folder: `<kind>.js`, worker.js, package.json, node_modules/. */
  dir: string;
  kind: FunctionKind;
  /** berth's version. */
  version: string;
}

const handlersDir = join(dirname(fileURLToPath(import.meta.url)), 'handlers');

async function makeBundle(cacheDir: string, kind: FunctionKind): Promise<FunctionBundle> {
  const server = await serverBundle(join(cacheDir, 'server'));
  const dir = join(cacheDir, `function-${kind}-${server.sha256.slice(0, 16)}-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  try {
    await build({
      entryPoints: { [kind]: join(handlersDir, `${kind}.js`) },
      outdir: dir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      legalComments: 'none',
      logLevel: 'silent',
      external: ['onnxruntime-node', 'esbuild'],
      // CommonJS packages call require(); an ES module has none until it is made.
      banner: {
        js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);",
      },
    });
    for (const part of ['worker.js', 'package.json', 'node_modules'])
      await cp(join(server.dir, part), join(dir, part), { recursive: true });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    throw new BerthError('INTERNAL', `cannot bundle the ${kind} function handler: ${message}`, {
      cause: error,
    });
  }
  return { dir, kind, version: server.version };
}

const bundles = new Map<string, Promise<FunctionBundle>>();

/** The runtime folder for `kind` under `cacheDir`, built once per process (a failure is retried). */
export function functionBundle(cacheDir: string, kind: FunctionKind): Promise<FunctionBundle> {
  const key = `${cacheDir}\0${kind}`;
  let bundle = bundles.get(key);
  if (bundle === undefined) {
    bundle = mkdir(cacheDir, { recursive: true }).then(() => makeBundle(cacheDir, kind));
    bundles.set(key, bundle);
    void bundle.catch(() => bundles.delete(key));
  }
  return bundle;
}
