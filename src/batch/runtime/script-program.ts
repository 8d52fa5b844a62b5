/**
 * Runs a user's batch scoring script. The script (TypeScript or JavaScript) is compiled with
 * esbuild when the worker loads it, then imported; it exports:
 *
 * - `init(ctx)` (optional, sync or async): once per worker process, before its first mini-batch.
 * - `run(miniBatch, ctx)` (required, sync or async): `miniBatch` is an array of absolute file paths
 *   (file input) or of row objects, column name → value (tabular input). `ctx.miniBatch.keys` holds
 *   each item's key, aligned with `miniBatch`.
 *
 * `run` answers one result per item that succeeded, in either form:
 * - an array aligned with `miniBatch` (same length); an `undefined` entry marks that item failed;
 * - an object or a Map keyed by item key (`ctx.miniBatch.keys[i]`); a missing key marks it failed.
 *
 * A throw fails the whole attempt (it is retried). Results must be JSON-serialisable; typed arrays
 * and BigInts are converted.
 */
import { pathToFileURL } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { BerthError } from '../../core/errors.js';
import { compileScript } from '../../scoring/runtimes/compile-script.js';
import type { CompiledScript } from '../../scoring/runtimes/compile-script.js';
import type { BatchLogger } from './logger.js';
import type { BatchProgram, ItemsForRun, ProgramAnswer } from './program.js';

/** What `init(ctx)` gets. */
export interface BatchScriptContext {
  jobId: string;
  /** This worker's name (w1, w2, …), as in `berth batch logs --worker`. */
  worker: string;
  /** The model's folder (undefined when the deployment names no model). */
  modelDir: string | undefined;
  /** The model's ONNX file, if it is an ONNX model. */
  modelFile: string | undefined;
  model: { name: string; version: number } | undefined;
  /** An ONNX Runtime session on `modelFile`, opened on first call and shared after. */
  session(): Promise<InferenceSession>;
  logger: BatchLogger;
}

/** What `run(miniBatch, ctx)` gets: the init context plus this mini-batch. */
export interface BatchRunContext extends BatchScriptContext {
  miniBatch: { index: number; attempt: number; kind: 'files' | 'rows'; keys: string[] };
}

interface ScriptModule {
  init?: (ctx: BatchScriptContext) => unknown;
  run: (miniBatch: unknown[], ctx: BatchRunContext) => unknown;
}

export async function loadScriptProgram(
  scriptPath: string,
  context: BatchScriptContext,
): Promise<BatchProgram> {
  let compiled: CompiledScript;
  try {
    compiled = await compileScript(scriptPath);
  } catch (error) {
    throw new BerthError('RUN_FAILED', (error as Error).message);
  }
  let module: ScriptModule;
  try {
    const namespace = (await import(pathToFileURL(compiled.modulePath).href)) as Record<string, unknown>;
    module = pickExports(namespace, scriptPath);
    await module.init?.(context);
  } catch (error) {
    await compiled.dispose();
    if (error instanceof BerthError) throw error;
    throw new BerthError('RUN_FAILED', `scoring script ${scriptPath}: init() failed: ${describe(error)}`);
  }
  return {
    readsFiles: false,
    async run(items: ItemsForRun, miniBatch): Promise<ProgramAnswer> {
      const input = items.kind === 'files' ? items.paths : items.rows;
      const ctx: BatchRunContext = {
        ...context,
        miniBatch: { ...miniBatch, kind: items.kind, keys: items.keys },
      };
      try {
        return { value: await module.run(input, ctx), itemErrors: new Map() };
      } catch (error) {
        throw new BerthError('RUN_FAILED', `run() failed: ${describe(error)}`);
      }
    },
    close: () => compiled.dispose(),
  };
}

function pickExports(namespace: Record<string, unknown>, scriptPath: string): ScriptModule {
  // A CommonJS script bundled to ESM exposes its exports as `default`.
  const candidate =
    typeof namespace.run === 'function'
      ? namespace
      : (namespace.default as Record<string, unknown> | undefined);
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.run !== 'function') {
    throw new BerthError(
      'RUN_FAILED',
      `scoring script ${scriptPath} does not export a run(miniBatch, ctx) function`,
    );
  }
  if (candidate.init !== undefined && typeof candidate.init !== 'function') {
    throw new BerthError('RUN_FAILED', `scoring script ${scriptPath}: export "init" must be a function`);
  }
  return candidate as unknown as ScriptModule;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
