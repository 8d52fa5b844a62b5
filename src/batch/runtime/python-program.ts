/**
 * Runs a Python batch driver (`init()` and `run(mini_batch)`, as Azure ML's parallel run step calls
 * them) in one Python worker process per batch worker (scoring/runtimes/python). `mini_batch` is a
 * list of absolute file paths for file input, or a pandas DataFrame for tabular input (columns in
 * the input's order). `run` answers one result per item, aligned with the mini-batch: a list, a
 * pandas DataFrame or Series, or a numpy array (a `None` entry marks that item failed), or a dict
 * keyed by item key. An exception fails the attempt (it is retried).
 */
import { dirname } from 'node:path';
import { BerthError, hasErrorCode } from '../../core/errors.js';
import type { ModelToServe } from '../../scoring/engine.js';
import { choosePython } from '../../core/python-interpreter.js';
import { pythonEnvironment } from '../../scoring/runtimes/python/layout.js';
import { PythonProcess } from '../../scoring/runtimes/python/process.js';
import { pythonRoot } from '../../scoring/runtimes/python/engine.js';
import type { BatchScriptContext } from './script-program.js';
import type { BatchProgram, ItemsForRun, ProgramAnswer } from './program.js';

export async function loadPythonProgram(
  scriptPath: string,
  context: BatchScriptContext,
): Promise<BatchProgram> {
  const python = choosePython(undefined);
  context.logger.info(`Python driver ${scriptPath} runs on ${python.path} (chosen because ${python.source})`);
  const models: ModelToServe[] =
    context.model === undefined || context.modelDir === undefined
      ? []
      : [
          {
            name: context.model.name,
            version: String(context.model.version),
            framework: 'custom',
            modelDir: context.modelDir,
            modelFile: undefined,
            signature: null,
          },
        ];
  const start = async (): Promise<PythonProcess> => {
    const started = new PythonProcess({
      id: ++starts,
      python: python.path,
      workerScript: `${pythonRoot}berth_worker.py`,
      cwd: dirname(scriptPath),
      env: pythonEnvironment(models, scriptPath),
      startTimeoutMs: 300_000,
      logger: context.logger,
    });
    try {
      await started.ready;
      return started;
    } catch (error) {
      await started.shutdown(0);
      throw hasErrorCode(error) ? error : new BerthError('RUN_FAILED', String(error));
    }
  };
  let starts = 0;
  // A driver whose process died (os._exit, a native crash) gets a fresh one for the next attempt.
  let worker = await start();
  return {
    readsFiles: false,
    async run(items: ItemsForRun, miniBatch): Promise<ProgramAnswer> {
      if (worker.state === 'dead') worker = await start();
      const result = await worker
        .call({
          type: 'batch',
          requestId: `mini-batch ${miniBatch.index} attempt ${miniBatch.attempt}`,
          miniBatch: items.kind === 'files' ? items.paths : table(items.rows),
        })
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          throw new BerthError('RUN_FAILED', `run() failed: ${message}`);
        });
      return { value: JSON.parse(result.body.toString('utf8')) as unknown, itemErrors: new Map() };
    },
    close: () => worker.shutdown(5_000),
  };
}

/** Rows as columns and arrays, so the worker builds its DataFrame in one call. */
function table(rows: Record<string, unknown>[]): { columns: string[]; rows: unknown[][] } {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const column of Object.keys(row)) {
      if (!seen.has(column)) {
        seen.add(column);
        columns.push(column);
      }
    }
  }
  return { columns, rows: rows.map((row) => columns.map((column) => row[column] ?? null)) };
}
