/**
 * Command jobs (training, or any command) from the SDK: submit from an Azure ML command job file
 * or from options, then list, show (status, attempts, metrics), follow logs, cancel, wait and
 * download what a run kept. The CLI's `berth job …` commands call these.
 *
 * ```ts
 * const workspace = await Workspace.open();
 * const { job } = await workspace.jobs.create({ code: './src', command: 'python train.py' });
 * const done = await workspace.jobs.wait(job.id);
 * console.log(done.state, done.metrics);
 * ```
 */
import { cp, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { BerthError } from '../core/errors.js';
import { cancelRun, currentStatus, waitForEnd } from '../jobs/control.js';
import { jobFromFlags, loadJobFile, type JobOverrides } from '../jobs/load.js';
import { readRunLog } from '../jobs/logs.js';
import { readMetrics, type RunMetrics } from '../jobs/metrics.js';
import { readHistory, type RunHistory } from '../jobs/history.js';
import type { Attempt, RunRecord, RunState, RunStatus } from '../jobs/records.js';
import { RunFolder } from '../jobs/run-folder.js';
import { submitJob, type SubmitContext } from '../jobs/submit.js';
import type { ArtifactStore } from '../workspace/artifacts.js';

export interface CreateJobOptions extends JobOverrides {
  /** An Azure ML command job YAML file; its values are replaced by the other options given. */
  file?: string | undefined;
}

/** One job as the SDK and `--json` show it (docs/cli-json.md). */
export interface JobView {
  id: string;
  name: string;
  experiment: string;
  state: RunState;
  reason: string | undefined;
  /** The command as run (references bound), or as written before it started. */
  command: string;
  /** Where it runs, as written, and the kind of target that is. */
  compute: string;
  targetKind: string;
  instanceCount: number;
  createdAt: string;
  startedAt: string | undefined;
  endedAt: string | undefined;
  exitCode: number | undefined;
  code: RunRecord['code'];
  inputs: RunRecord['definition']['inputs'];
  outputs: string[];
  attempts: Attempt[];
  /** The last value of each metric series. */
  metrics: Record<string, number>;
  /** Tables the command logged (`run.logTable`): name, row count, columns. */
  tables: RunHistory['tables'];
  /** Images the command logged (`run.logImage`): file name under `images/`, size. */
  images: RunHistory['images'];
}

function viewOf(record: RunRecord, status: RunStatus, metrics: RunMetrics, history: RunHistory): JobView {
  return {
    id: record.id,
    name: record.definition.displayName,
    experiment: record.definition.experimentName,
    state: status.state,
    reason: status.reason,
    command: status.command ?? record.definition.command,
    compute: record.definition.compute,
    targetKind: record.targetKind,
    instanceCount: record.definition.instanceCount,
    createdAt: record.createdAt,
    startedAt: status.startedAt,
    endedAt: status.endedAt,
    exitCode: status.exitCode,
    code: record.code,
    inputs: record.definition.inputs,
    outputs: record.definition.outputs,
    attempts: status.attempts,
    metrics: Object.fromEntries(metrics.series.map((series) => [series.key, series.last])),
    tables: history.tables,
    images: history.images,
  };
}

export class JobOperations {
  constructor(
    private readonly workspaceDir: string,
    private readonly artifacts: ArtifactStore,
    private readonly findTarget: SubmitContext['findTarget'],
  ) {}

  async #folder(id: string): Promise<RunFolder> {
    return RunFolder.open(this.workspaceDir, id);
  }

  async #view(folder: RunFolder, status?: RunStatus): Promise<JobView> {
    return viewOf(
      await folder.record(),
      status ?? (await currentStatus(folder)),
      await readMetrics(folder),
      await readHistory(folder),
    );
  }

  /** Snapshots the code and starts the job; resolves once it is queued, with the file's warnings. */
  async create(options: CreateJobOptions): Promise<{ job: JobView; warnings: string[] }> {
    const loaded =
      options.file === undefined ? jobFromFlags(options) : await loadJobFile(options.file, options);
    const record = await submitJob(loaded, {
      workspaceDir: this.workspaceDir,
      artifacts: this.artifacts,
      findTarget: this.findTarget,
    });
    return { job: await this.show(record.id), warnings: loaded.warnings };
  }

  /** Every job, newest first. */
  async list(): Promise<JobView[]> {
    const views: JobView[] = [];
    for (const id of await RunFolder.list(this.workspaceDir)) {
      const view = await this.#view(await this.#folder(id)).catch(() => undefined);
      if (view !== undefined) views.push(view);
    }
    return views.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  async show(id: string): Promise<JobView> {
    return this.#view(await this.#folder(id));
  }

  /** Every series the job logged, with its points. */
  async metrics(id: string): Promise<RunMetrics> {
    return readMetrics(await this.#folder(id));
  }

  /** The command's output (rank 0 unless `rank`); `follow` keeps reading until the job ends. */
  async *logs(
    id: string,
    options: { rank?: number; follow?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<string> {
    yield* readRunLog(await this.#folder(id), options);
  }

  /** Ends the job's process tree and resolves it Canceled; CONFLICT when it had already ended. */
  async cancel(id: string): Promise<JobView> {
    const folder = await this.#folder(id);
    return this.#view(folder, await cancelRun(folder, (await folder.record()).targetKind));
  }

  /** Resolves once the job has ended (or `signal` aborts). */
  async wait(id: string, signal?: AbortSignal): Promise<JobView> {
    const folder = await this.#folder(id);
    return this.#view(folder, await waitForEnd(folder, signal));
  }

  /**
   * Copies what the job kept into `output`: `outputs/`, `logs/` (what the command wrote there),
   * `user_logs/` (its stdout and stderr), `metrics.jsonl`, and the `tables/` and `images/` it logged.
   * CONFLICT when `output/outputs` exists.
   */
  async download(id: string, output: string): Promise<string> {
    const folder = await this.#folder(id);
    const destination = resolve(output);
    const exists = async (path: string): Promise<boolean> =>
      stat(path).then(
        () => true,
        () => false,
      );
    if (await exists(join(destination, 'outputs')))
      throw new BerthError(
        'CONFLICT',
        `cannot download to ${destination}: ${join(destination, 'outputs')} exists`,
      );
    const copy = async (from: string, to: string): Promise<void> => {
      if (await exists(from)) await cp(from, join(destination, to), { recursive: true });
    };
    await copy(folder.outputsDir, 'outputs');
    await copy(join(folder.workDir, 'logs'), 'logs');
    const record = await folder.record();
    for (let rank = 0; rank < Math.max(1, record.definition.instanceCount); rank += 1) {
      await copy(
        folder.logFile(rank),
        join('user_logs', `std_log${rank === 0 ? '' : `_process_${rank}`}.txt`),
      );
    }
    await copy(folder.metricsFile, 'metrics.jsonl');
    await copy(join(folder.historyDir, 'tables'), 'tables');
    await copy(join(folder.historyDir, 'images'), 'images');
    return destination;
  }

  /**
   * The absolute path of `path` (relative to the job's working folder, e.g. `outputs/model.onnx`)
   * of a Completed job, for `model register --from-job`. PATH_ESCAPES for a path outside it.
   */
  async outputPath(id: string, path: string): Promise<string> {
    const folder = await this.#folder(id);
    const status = await currentStatus(folder);
    if (status.state !== 'Completed')
      throw new BerthError(
        'CONFLICT',
        `job ${id} is ${status.state}, not Completed: register from a completed job`,
      );
    const absolute = resolve(folder.workDir, path);
    const inside = relative(folder.workDir, absolute);
    if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || resolve(inside) === inside)
      throw new BerthError('PATH_ESCAPES', `${path} is not inside job ${id}'s folder`);
    if (
      !(await stat(absolute).then(
        () => true,
        () => false,
      ))
    )
      throw new BerthError('PATH_NOT_FOUND', `job ${id} has no ${path} (see berth job download ${id})`);
    return absolute;
  }
}
