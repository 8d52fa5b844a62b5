/**
 * The batch worker as it ships to the machine: `batch-worker-main.js` bundled by esbuild into one
 * file, in a folder named by its sha256 (built once per process and cache folder). It imports
 * `onnxruntime-node` and `esbuild` by name and finds them in the scoring-server bundle's
 * node_modules, which the job's folder on the machine links to: the runtime ships once for both.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BerthError } from '../../core/errors.js';
import { hashFolder } from '../container/bundle.js';

export const batchWorkerFile = 'batch-worker.mjs';

const entry = join(dirname(fileURLToPath(import.meta.url)), 'batch-worker-main.js');
const bundles = new Map<string, Promise<{ dir: string; sha256: string }>>();

async function makeBundle(cacheDir: string): Promise<{ dir: string; sha256: string }> {
  await mkdir(cacheDir, { recursive: true });
  const staging = join(cacheDir, `batch-worker-staging-${process.pid}-${Date.now()}`);
  try {
    await build({
      entryPoints: [entry],
      outfile: join(staging, batchWorkerFile),
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
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    throw new BerthError('INTERNAL', `cannot bundle the batch worker: ${message}`, { cause: error });
  }
  const sha256 = await hashFolder(staging);
  const dir = join(cacheDir, `batch-worker-${sha256.slice(0, 16)}`);
  if (existsSync(dir)) await rm(staging, { recursive: true, force: true });
  else await rename(staging, dir);
  return { dir, sha256 };
}

/** The worker bundle under `cacheDir`, built once per process (a failed build is retried next time). */
export function batchWorkerBundle(cacheDir: string): Promise<{ dir: string; sha256: string }> {
  let bundle = bundles.get(cacheDir);
  if (bundle === undefined) {
    bundle = makeBundle(cacheDir);
    bundles.set(cacheDir, bundle);
    void bundle.catch(() => bundles.delete(cacheDir));
  }
  return bundle;
}
