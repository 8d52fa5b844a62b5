/**
 * Turns a user's scoring script (TypeScript or JavaScript, ESM or CommonJS) into one ES module the
 * worker threads can import. Runs once, on the main thread, before any worker starts.
 *
 * The output goes into a fresh temporary folder, never beside the user's files. Relative imports
 * are bundled in, so a script may split itself into several files. Packages stay external, but
 * their specifiers are rewritten to absolute file URLs resolved from the script's own folder
 * (falling back to berth's folder, so `zod` and `onnxruntime-node` always resolve): a bare
 * `import 'zod'` would otherwise be looked up from the temporary folder and fail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import { BerthError } from '../../core/errors.js';

export interface CompiledScript {
  /** The user's script, as given. */
  sourcePath: string;
  /** Absolute path of the bundled ES module the workers import. */
  modulePath: string;
  /** Removes the temporary folder; idempotent. */
  dispose(): Promise<void>;
}

const berthDir = dirname(fileURLToPath(import.meta.url));

export async function compileScript(sourcePath: string): Promise<CompiledScript> {
  const outDir = await mkdtemp(join(tmpdir(), 'berth-script-'));
  const modulePath = join(outDir, 'script.mjs');
  try {
    await build({
      entryPoints: [sourcePath],
      outfile: modulePath,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [externalPackagesByAbsoluteUrl()],
    });
  } catch (error) {
    await rm(outDir, { recursive: true, force: true });
    const message = error instanceof Error ? error.message : String(error);
    throw new BerthError('RUN_FAILED', `cannot compile scoring script ${sourcePath}: ${message}`, {
      cause: error,
    });
  }
  let disposed = false;
  return {
    sourcePath,
    modulePath,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

function externalPackagesByAbsoluteUrl(): Plugin {
  return {
    name: 'berth-external-packages',
    setup(pluginBuild) {
      // Bare specifiers only: relative and absolute paths are the user's own files and get bundled.
      pluginBuild.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'berth-resolving') return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        for (const resolveDir of [args.resolveDir, berthDir]) {
          const resolved = await pluginBuild.resolve(args.path, {
            kind: args.kind,
            resolveDir,
            pluginData: 'berth-resolving',
          });
          if (resolved.errors.length === 0 && resolved.path !== '') {
            return { path: pathToFileURL(resolved.path).href, external: true };
          }
        }
        return {
          errors: [
            { text: `cannot find package "${args.path}" from ${args.resolveDir} or berth's own folder` },
          ],
        };
      });
    },
  };
}
