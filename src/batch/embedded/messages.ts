/** The IPC messages between the embedded engine and its worker processes, a typed union on `type`. */
import type { BatchProgramSpec, MiniBatchTask } from '../engine.js';
import type { WorkerReply } from '../runtime/worker-session.js';

export type ToWorker =
  | { type: 'init'; jobId: string; worker: string; program: BatchProgramSpec }
  | { type: 'run'; task: MiniBatchTask };

export type FromWorker = WorkerReply;
