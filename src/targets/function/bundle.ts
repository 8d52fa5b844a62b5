/**
 * The runtime folder every function package carries as `berth/`: one handler shape bundled with
 * esbuild (the scoring server inside it), beside the container bundle's engine worker and runtime
 * packages (onnxruntime-node with its linux/x64 libraries, esbuild for TypeScript scoring
 * scripts), which are copied as they are. The worker sits next to the handler because the engine
 * loads it through `new URL('./worker.js', import.meta.url)`. The folder is named by the sha256 of
 * the server bundle and the handler, so a cache folder keeps one per berth version and kind; built
 * (or found) once per process, cache folder and kind.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
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
  const staging = join(cacheDir, `function-${kind}-staging-${process.pid}-${Date.now()}`);
  try {
    await build({
      entryPoints: { [kind]: join(handlersDir, `${kind}.js`) },
      outdir: staging,
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
    // Named by what it holds: the server bundle's sha256 and the handler's bytes.
    const hash = createHash('sha256')
      .update(server.sha256)
      .update(await readFile(join(staging, `${kind}.js`)));
    const dir = join(cacheDir, `function-${kind}-${hash.digest('hex').slice(0, 16)}`);
    if (existsSync(dir)) {
      await rm(staging, { recursive: true, force: true });
      return { dir, kind, version: server.version };
    }
    for (const part of ['worker.js', 'package.json', 'node_modules'])
      await cp(join(server.dir, part), join(staging, part), { recursive: true });
    await rename(staging, dir).catch(async (error: unknown) => {
      // Another process made the same folder meanwhile: theirs is as good.
      if (!existsSync(dir)) throw error;
      await rm(staging, { recursive: true, force: true });
    });
    return { dir, kind, version: server.version };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    throw new BerthError('INTERNAL', `cannot bundle the ${kind} function handler: ${message}`, {
      cause: error,
    });
  }
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
