/**
 * What a batch worker process does with its engine's messages, whatever carries them (IPC for the
 * embedded engine's workers on this machine, an SSH session's stdin and stdout for the ssh
 * engine's): load the program once on `start`, then run one mini-batch per `run` and answer each
 * with its outcome. A program that fails to load answers `init-failed` with its error's code; a
 * mini-batch that arrives before a program loaded fails as an internal error, never silently.
 */
import { hasErrorCode } from '../../core/errors.js';
import type { BatchProgramSpec, MiniBatchOutcome, MiniBatchTask } from '../engine.js';
import { loadProgram } from './load-program.js';
import type { BatchProgram } from './program.js';
import { runMiniBatch } from './run-mini-batch.js';

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'init-failed'; error: { code: string; message: string } }
  | { type: 'outcome'; outcome: MiniBatchOutcome };

export interface WorkerStart {
  jobId: string;
  worker: string;
  program: BatchProgramSpec;
  /** Where the model's files are for this process; undefined for a program without a model. */
  modelDir: string | undefined;
  modelFile: string | undefined;
}

export class WorkerSession {
  private program: BatchProgram | undefined;
  /** The worker's name (w1, w2, …) once started, for the process's own error lines. */
  worker = 'w?';

  constructor(private readonly send: (reply: WorkerReply) => void) {}

  async start(start: WorkerStart): Promise<void> {
    this.worker = start.worker;
    try {
      this.program = await loadProgram(start.program, {
        jobId: start.jobId,
        worker: start.worker,
        modelDir: start.modelDir,
        modelFile: start.modelFile,
      });
      this.send({ type: 'ready' });
    } catch (error) {
      const code = hasErrorCode(error) ? error.code : 'RUN_FAILED';
      this.send({
        type: 'init-failed',
        error: { code, message: error instanceof Error ? error.message : String(error) },
      });
    }
  }

  async run(task: MiniBatchTask): Promise<void> {
    if (this.program === undefined) {
      this.send({
        type: 'outcome',
        outcome: {
          index: task.plan.index,
          attempt: task.attempt,
          worker: this.worker,
          durationMs: 0,
          status: 'failed',
          rows: [],
          failedItems: [],
          error: { code: 'INTERNAL', message: 'worker received a mini-batch before init', phase: 'init' },
        },
      });
      return;
    }
    this.send({ type: 'outcome', outcome: await runMiniBatch(this.program, task, this.worker) });
  }
}
