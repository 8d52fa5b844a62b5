/**
 * Job lifecycle over the job folder: run (first time or resumed), status, logs, cancel, list.
 * Everything here works from the folder alone, so a second process (`berth batch status` while
 * `berth batch run` scores) sees what the coordinator wrote, and a resumed job needs nothing else.
 *
 * States a reader sees: `running` (a live coordinator), `interrupted` (status says running but its
 * coordinator is gone: resume it), `completed`, `failed` (a limit was exceeded, or the workers
 * could not start; `reason` says which), `canceled`.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { BerthError } from '../core/errors.js';
import { coordinate } from './coordinator.js';
import type { BatchProgress } from './coordinator.js';
import type { BatchEngineFactory, BatchEngineKind, TargetWorkersState } from './engine.js';
import { coordinatorAlive, JobFolder } from './job/folder.js';
import type { JobError, JobRecord, StoredStatus } from './job/records.js';

export type BatchJobState = 'running' | 'interrupted' | 'completed' | 'failed' | 'canceled';

export interface BatchJobStatus {
  id: string;
  deployment: string;
  state: BatchJobState;
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  inputType: 'files' | 'tabular';
  /** The target the job runs on, as it was named (`local`, `batch-cluster`, `redis://host:6379/0`). */
  target: string;
  /** The engine that runs its mini-batches: `embedded` (worker processes here) or `cluster`. */
  engine: BatchEngineKind;
  miniBatches: { total: number; succeeded: number; failed: number; retried: number; running: number };
  items: { total: number; succeeded: number; failed: number };
  itemsPerSecond: number;
  /** Seconds left at the current rate; undefined when not running or no rate yet. */
  etaSeconds: number | undefined;
  /** The first error any attempt or item met: the one to fix first. */
  firstError: JobError | undefined;
  /** Why the job stopped, for `failed` and `canceled`. */
  reason: string | undefined;
  workers: Record<string, { pid?: number; host?: string; miniBatch?: number; since: string }>;
  output: { dir: string; predictions: string | undefined; report: string | undefined };
  jobDir: string;
  /**
   * Optional: where the target runs the workers as objects of its own (a Kubernetes Job), their
   * state as the target reports it when the status was read (set by the SDK, not stored).
   */
  targetWorkers?: TargetWorkersState;
}

export interface RunJobOptions {
  /** The engine of the job's target, from the target registry (the SDK finds it from the record's compute). */
  engine: BatchEngineFactory;
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
}

/** Runs the job's unfinished mini-batches to the end; CONFLICT when another process is running it. */
export async function runJob(
  folder: JobFolder,
  record: JobRecord,
  options: RunJobOptions,
): Promise<BatchJobStatus> {
  const release = await folder.lock();
  const logs = folder.openLogs();
  try {
    await folder.clearCancel();
    const engine = await options.engine({
      jobId: record.id,
      target: record.deployment.compute.target,
      instanceCount: record.deployment.instanceCount,
      maxConcurrencyPerInstance: record.deployment.maxConcurrencyPerInstance,
      gpus: record.gpus,
      program: record.program,
      log: (line) => logs.write(line.worker, line.stream === 'berth' ? `[berth] ${line.line}` : line.line),
    });
    try {
      await coordinate({
        folder,
        record,
        engine,
        log: (worker, line) => logs.write(worker, line),
        onProgress: options.onProgress,
        signal: options.signal,
      });
    } finally {
      await engine.close();
    }
  } finally {
    await logs.close();
    await release();
  }
  return jobStatus(folder);
}

export async function jobStatus(folder: JobFolder): Promise<BatchJobStatus> {
  const record = await folder.readRecord();
  const stored = await folder.readStatus();
  // The results folder is the truth: status.json may lag it by one write when a coordinator died.
  const succeeded = (await folder.resultIndexes()).size;
  return describeStatus(folder, record, stored, succeeded);
}

function describeStatus(
  folder: JobFolder,
  record: JobRecord,
  stored: StoredStatus | undefined,
  succeeded: number,
): BatchJobStatus {
  const counts = stored?.counts;
  let state: BatchJobState = stored?.state ?? 'interrupted';
  if (state === 'running' && !coordinatorAlive(stored?.coordinator, hostname())) state = 'interrupted';
  const remaining =
    (counts?.items ?? record.plan.totalItems) - (counts?.itemsSucceeded ?? 0) - (counts?.itemsFailed ?? 0);
  const rate = state === 'running' ? (stored?.itemsPerSecond ?? 0) : 0;
  return {
    id: record.id,
    deployment: record.deployment.name,
    state,
    createdAt: record.createdAt,
    startedAt: stored?.startedAt,
    finishedAt: stored?.finishedAt,
    inputType: record.plan.inputType,
    target: record.deployment.compute.target,
    engine: record.deployment.compute.engine,
    miniBatches: {
      total: record.plan.miniBatches.length,
      succeeded,
      failed: counts?.failed ?? 0,
      retried: counts?.retried ?? 0,
      running: state === 'running' ? (counts?.running ?? 0) : 0,
    },
    items: {
      total: record.plan.totalItems,
      succeeded: counts?.itemsSucceeded ?? 0,
      failed: counts?.itemsFailed ?? 0,
    },
    itemsPerSecond: rate,
    etaSeconds: rate > 0 ? remaining / rate : undefined,
    firstError: stored?.firstError,
    reason: stored?.reason,
    workers: stored?.workers ?? {},
    output: {
      dir: record.outputDir,
      predictions: stored?.output?.predictions,
      report: stored?.output?.report,
    },
    jobDir: folder.dir,
  };
}

export interface LogLine {
  worker: string;
  time: string;
  line: string;
}

/** The job's log lines in time order: one worker's (`worker`), or every worker's and the coordinator's (`job`). */
export async function jobLogs(folder: JobFolder, worker?: string): Promise<LogLine[]> {
  const workers = await folder.logWorkers();
  if (worker !== undefined && !workers.includes(worker)) {
    throw new BerthError(
      'NOT_FOUND',
      `job ${folder.id} has no log for worker ${JSON.stringify(worker)} (workers: ${workers.join(', ') || 'none yet'})`,
    );
  }
  const lines: LogLine[] = [];
  for (const name of worker === undefined ? workers : [worker]) {
    const text = await readFile(folder.logPath(name), 'utf8').catch(() => '');
    for (const entry of text.split('\n')) {
      if (entry === '') continue;
      const space = entry.indexOf(' ');
      lines.push({ worker: name, time: entry.slice(0, space), line: entry.slice(space + 1) });
    }
  }
  // A stable sort keeps each file's own order for lines stamped in the same millisecond.
  return lines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/**
 * Asks the job to stop. A live coordinator sees the request within a tick, stops its attempts and
 * writes `canceled`; this waits for that (up to `waitMs`). A job nobody runs is marked at once.
 */
export async function cancelJob(folder: JobFolder, waitMs = 30_000): Promise<BatchJobStatus> {
  const before = await jobStatus(folder);
  if (before.state === 'completed' || before.state === 'failed' || before.state === 'canceled') return before;
  if (before.state === 'interrupted') {
    const stored = await folder.readStatus();
    if (stored !== undefined) {
      const { coordinator: _gone, ...rest } = stored;
      await folder.writeStatus({
        ...rest,
        state: 'canceled',
        reason: 'canceled (berth batch cancel)',
        finishedAt: new Date().toISOString(),
      });
    }
    return jobStatus(folder);
  }
  await folder.requestCancel();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const status = await jobStatus(folder);
    if (status.state !== 'running' || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function listJobs(workspaceDir: string): Promise<BatchJobStatus[]> {
  const statuses: BatchJobStatus[] = [];
  for (const id of await JobFolder.list(workspaceDir))
    statuses.push(await jobStatus(await JobFolder.open(workspaceDir, id)));
  return statuses;
}
