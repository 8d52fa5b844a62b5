/**
 * Loads what a worker runs, once per worker process: the scoring script (compiled, imported, its
 * init() called) or the built-in ONNX scoring. Any engine's worker calls this; the caller says
 * where the model files are on its machine (the embedded engine passes `program.model.local`).
 */
import * as ort from 'onnxruntime-node';
import { BerthError } from '../../core/errors.js';
import type { BatchProgramSpec } from '../engine.js';
import { createBatchLogger } from './logger.js';
import { loadOnnxProgram } from './onnx-program.js';
import type { BatchProgram } from './program.js';
import { loadScriptProgram } from './script-program.js';
import { loadPythonProgram } from './python-program.js';
import { isPythonScript } from '../../scoring/runtimes/python/engine.js';
import type { BatchScriptContext } from './script-program.js';

export interface ProgramLocation {
  jobId: string;
  worker: string;
  /** Where the model files are on this machine; undefined when the deployment has no model. */
  modelDir: string | undefined;
  modelFile: string | undefined;
}

export async function loadProgram(spec: BatchProgramSpec, where: ProgramLocation): Promise<BatchProgram> {
  for (const [name, value] of Object.entries(spec.environmentVariables)) process.env[name] = value;
  let session: Promise<ort.InferenceSession> | undefined;
  const openSession = (): Promise<ort.InferenceSession> => {
    if (where.modelFile === undefined) {
      return Promise.reject(
        new BerthError('INVALID_MODEL', 'this deployment has no ONNX model to open a session on'),
      );
    }
    session ??= ort.InferenceSession.create(where.modelFile, {
      logSeverityLevel: 3,
      ...threadOptions(),
    }).catch((error: unknown) => {
      throw new BerthError(
        'INVALID_MODEL',
        `cannot load ${where.modelFile}: ${(error as Error).message.split('\n')[0]}`,
      );
    });
    return session;
  };
  if (spec.scoringScript === undefined) {
    if (where.modelFile === undefined) {
      throw new BerthError('INVALID_SPEC', 'a deployment without a scoring script needs an ONNX model');
    }
    return loadOnnxProgram(await openSession(), where.modelFile);
  }
  const context: BatchScriptContext = {
    jobId: where.jobId,
    worker: where.worker,
    modelDir: where.modelDir,
    modelFile: where.modelFile,
    model: spec.model === undefined ? undefined : { name: spec.model.name, version: spec.model.version },
    session: openSession,
    logger: createBatchLogger(spec.loggingLevel),
  };
  if (isPythonScript(spec.scoringScript)) return loadPythonProgram(spec.scoringScript, context);
  return loadScriptProgram(spec.scoringScript, context);
}

/**
 * ONNX Runtime's own thread count. A process that shares the machine with sibling worker processes
 * (the embedded engine sets BERTH_ORT_INTRA_OP_THREADS to cores / processes) must not start a pool
 * as large as the machine, or the processes fight over the cores.
 */
function threadOptions(): { intraOpNumThreads?: number; interOpNumThreads?: number } {
  const threads = Number(process.env.BERTH_ORT_INTRA_OP_THREADS);
  return Number.isInteger(threads) && threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {};
}
