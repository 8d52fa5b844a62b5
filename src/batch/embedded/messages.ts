/** The IPC messages between the embedded engine and its worker processes, a typed union on `type`. */
import type { BatchProgramSpec, MiniBatchOutcome, MiniBatchTask } from '../engine.js';

export type ToWorker =
  | { type: 'init'; jobId: string; worker: string; program: BatchProgramSpec }
  | { type: 'run'; task: MiniBatchTask };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; error: { code: string; message: string } }
  | { type: 'outcome'; outcome: MiniBatchOutcome };
