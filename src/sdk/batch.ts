/**
 * Batch scoring through the SDK: `workspace.batch`. A job scores a folder of files or tabular
 * files (CSV, JSON Lines, Parquet) in mini-batches on an engine, keeps its state under
 * `<workspace>/jobs/<jobId>/`, and writes each input's result exactly once, even when workers or
 * the submitting process die (`resume` finishes what is left).
 *
 * ```ts
 * const workspace = await Workspace.open();
 * const status = await workspace.batch.run({
 *   deploymentFile: 'examples/batch/tabular/deployment.yml',
 *   input: 'examples/batch/tabular/data',
 *   output: 'out',
 *   onProgress: (p) => console.log(`${p.items.succeeded}/${p.items.total}`),
 * });
 * console.log(status.state, status.output.predictions);
 * ```
 *
 * The job runs on the target its deployment's `compute` names (or `target`, which replaces it):
 * `local` (worker processes on this machine, the default), `azureml:NAME` or `NAME` of a target
 * from `berth target create` (a cluster's Redis and queue prefix), or `cluster:redis://host:port`.
 * The target's batch engine comes from the one target registry (src/targets/registry.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { BerthError } from '../core/errors.js';
import type { ModelVersion } from '../core/model.js';
import { loadBatchDeploymentFile, validateBatchDeployment } from '../batch/definition/load.js';
import type { ResolvedBatchDeployment } from '../batch/definition/resolve.js';
import type { BatchEngineFactory, BatchEngineKind, BatchProgramSpec } from '../batch/engine.js';
import { JobFolder, newJobId } from '../batch/job/folder.js';
import type { JobRecord } from '../batch/job/records.js';
import { cancelJob, jobLogs, jobStatus, listJobs, runJob } from '../batch/jobs.js';
import type { BatchJobStatus, LogLine } from '../batch/jobs.js';
import type { BatchProgress } from '../batch/coordinator.js';
import { planJob } from '../batch/plan.js';
import type { InputType } from '../batch/plan.js';
import { batchFacetOf, type BatchTarget } from '../targets/registry.js';
import { findBatchTarget, reopenBatchTarget, type FindTarget } from './batch-compute.js';
import type { ModelOperations } from '../registry/model-operations.js';

export type { BatchJobState, BatchJobStatus, LogLine } from '../batch/jobs.js';
export type { BatchProgress } from '../batch/coordinator.js';

export interface BatchRunOptions {
  /** A deployment YAML file (Azure ML `batchDeployment` shape). Give this or `deployment`. */
  deploymentFile?: string;
  /** The same definition as an object; its relative paths resolve from `baseDir` (default: the current folder). */
  deployment?: Record<string, unknown>;
  baseDir?: string;
  /** Folders, files or globs (`data/**\/*.csv`). */
  input: string | string[];
  /** The folder the predictions file and job-report.json go to (created when missing). */
  output: string;
  /**
   * Where to run, replacing the deployment's `compute` (which is then not read): `local`, a target
   * from `berth target create` (`NAME` or `azureml:NAME`), or `cluster:redis://host:port`.
   */
  target?: string;
  /** Default `auto`: tabular when every input file is .csv, .jsonl, .ndjson or .parquet, else files. */
  inputType?: InputType | 'auto';
  /** Devices to spread over worker processes, one per process (CUDA_VISIBLE_DEVICES). Default: unset. */
  gpus?: string[];
  /** Called once the job exists, before it runs: the id to pass to status, logs, cancel or resume. */
  onCreated?: (jobId: string) => void;
  onProgress?: (progress: BatchProgress) => void;
  /** Unknown fields in the deployment, and similar notices. Default: ignored. */
  onWarning?: (message: string) => void;
  /** Aborting cancels the job (state `canceled`). */
  signal?: AbortSignal;
}

export interface BatchResumeOptions {
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
}

export interface BatchOperationsOptions {
  /** Named targets (`berth target create`): how `compute: NAME` is found. Default: none, only kinds and addresses. */
  findTarget?: FindTarget;
  /** Engine factories that replace the target registry's, by engine (tests pass fakes here). Default: none. */
  engines?: Partial<Record<BatchEngineKind, BatchEngineFactory>>;
}

export class BatchOperations {
  constructor(
    private readonly workspaceDir: string,
    private readonly models: ModelOperations,
    private readonly options: BatchOperationsOptions = {},
  ) {}

  /** Plans and runs a job to its end; resolves with its final status (failed and canceled jobs resolve too). */
  async run(options: BatchRunOptions): Promise<BatchJobStatus> {
    const { deployment, file, target } = await this.loadDeployment(options);
    const model = await this.resolveModel(deployment);
    if (deployment.scoringScript !== undefined) {
      await stat(deployment.scoringScript).catch(() => {
        throw new BerthError('PATH_NOT_FOUND', `scoring script not found: ${deployment.scoringScript}`);
      });
    } else if (model?.modelFile === undefined) {
      throw new BerthError(
        'INVALID_SPEC',
        'the deployment needs a scoring script (code_configuration) or an ONNX model',
      );
    }
    const inputs = (Array.isArray(options.input) ? options.input : [options.input]).map((input) =>
      resolve(input),
    );
    const plan = await planJob(inputs, options.inputType ?? 'auto', deployment.miniBatchSize);
    for (const source of plan.emptySources)
      options.onWarning?.(`${source} has no rows; nothing to score in it`);
    const program: BatchProgramSpec = {
      scoringScript: deployment.scoringScript,
      model: model === undefined ? undefined : programModel(model.model, model.modelDir, model.modelFile),
      environmentVariables: deployment.environmentVariables,
      loggingLevel: deployment.loggingLevel,
    };
    const record: JobRecord = {
      schemaVersion: 1,
      id: newJobId(deployment.name),
      createdAt: new Date().toISOString(),
      deployment,
      deploymentFile: file,
      inputs,
      outputDir: resolve(options.output),
      gpus: options.gpus,
      program,
      plan,
    };
    const folder = await JobFolder.create(this.workspaceDir, record);
    options.onCreated?.(record.id);
    return runJob(folder, record, {
      engine: this.engineOf(target),
      onProgress: options.onProgress,
      signal: options.signal,
    });
  }

  async status(jobId: string): Promise<BatchJobStatus> {
    const folder = await this.open(jobId);
    return this.withTargetWorkers(folder, await jobStatus(folder));
  }

  /** Log lines in time order; `worker` (w1, w2, …, or `job` for the coordinator) narrows to one. */
  async logs(jobId: string, options: { worker?: string } = {}): Promise<LogLine[]> {
    return jobLogs(await this.open(jobId), options.worker);
  }

  /**
   * Runs the mini-batches that have no result yet, with the plan stored at submission: after the
   * submitter died, every worker died, or the job failed or was canceled. A completed job is
   * returned as it is; a job whose coordinator is alive is a CONFLICT.
   */
  async resume(jobId: string, options: BatchResumeOptions = {}): Promise<BatchJobStatus> {
    const folder = await this.open(jobId);
    const before = await jobStatus(folder);
    if (before.state === 'completed') return before;
    if (before.state === 'running')
      throw new BerthError('CONFLICT', `batch job ${jobId} is running; nothing to resume`);
    const record = await folder.readRecord();
    const model = record.program.model;
    if (model?.local !== undefined) {
      // The model cache may have been cleared since submission: materialise the version again.
      const local = await this.models.localFiles(`${model.name}:${model.version}`);
      record.program = {
        ...record.program,
        model: { ...model, local: { modelDir: local.modelDir, modelFile: local.modelFile } },
      };
    }
    const engine = this.engineOf(reopenBatchTarget(record.deployment.compute));
    return runJob(folder, record, { ...options, engine });
  }

  /**
   * Stops the job; on a target that runs its workers as objects of its own (a Kubernetes Job),
   * also deletes those objects, and only those, even when the job's coordinator is gone.
   */
  async cancel(jobId: string): Promise<BatchJobStatus> {
    const folder = await this.open(jobId);
    const status = await cancelJob(folder);
    const { compute } = (await folder.readRecord()).deployment;
    const release = batchFacetOf(compute.config)?.release;
    if (release === undefined) return status;
    await release(compute.config, jobId);
    return this.withTargetWorkers(folder, status);
  }

  /**
   * `batch run --dry-run`: the objects the job's target would create for it, written as files into
   * `output`, nothing applied and no job created. BAD_INPUT for a target that creates none.
   */
  async writeManifests(
    options: Omit<BatchRunOptions, 'input' | 'onCreated' | 'onProgress' | 'signal'>,
  ): Promise<{ jobId: string; files: string[]; warnings: string[] }> {
    const { deployment } = await this.loadDeployment(options);
    const { compute } = deployment;
    const write = batchFacetOf(compute.config)?.writeManifests;
    if (write === undefined) {
      throw new BerthError(
        'BAD_INPUT',
        `--dry-run writes the objects a target creates for a job: target ${compute.target} (${compute.config.kind}) creates none (kubernetes targets do)`,
      );
    }
    const jobId = newJobId(deployment.name);
    const written = await write(
      compute.config,
      { jobId, instanceCount: deployment.instanceCount, concurrency: deployment.maxConcurrencyPerInstance },
      options.output,
    );
    return { jobId, ...written };
  }

  private async withTargetWorkers(folder: JobFolder, status: BatchJobStatus): Promise<BatchJobStatus> {
    const { compute } = (await folder.readRecord()).deployment;
    const workers = batchFacetOf(compute.config)?.workers;
    if (workers === undefined) return status;
    return { ...status, targetWorkers: await workers(compute.config, status.id) };
  }

  /** Every job of the workspace, oldest first. */
  async list(): Promise<BatchJobStatus[]> {
    return listJobs(this.workspaceDir);
  }

  private open(jobId: string): Promise<JobFolder> {
    return JobFolder.open(this.workspaceDir, jobId);
  }

  private engineOf(target: BatchTarget): BatchEngineFactory {
    return this.options.engines?.[target.engine] ?? target.factory;
  }

  private async loadDeployment(
    options: Pick<BatchRunOptions, 'deploymentFile' | 'deployment' | 'baseDir' | 'target' | 'onWarning'>,
  ): Promise<{ deployment: ResolvedBatchDeployment; file: string | undefined; target: BatchTarget }> {
    if ((options.deploymentFile === undefined) === (options.deployment === undefined)) {
      throw new BerthError('BAD_INPUT', 'give either deploymentFile or deployment');
    }
    // `target` replaces the file's compute before the file's value is read (load.ts).
    const loadOptions = { target: options.target };
    const loaded =
      options.deploymentFile !== undefined
        ? await loadBatchDeploymentFile(options.deploymentFile, loadOptions)
        : validateBatchDeployment(
            options.deployment,
            'deployment',
            resolve(options.baseDir ?? '.'),
            undefined,
            loadOptions,
          );
    for (const warning of loaded.warnings) options.onWarning?.(warning);
    const source = options.deploymentFile === undefined ? 'deployment' : basename(options.deploymentFile);
    const where = options.target === undefined ? `${source}: compute` : '--target';
    const found = await findBatchTarget(loaded.deployment.compute, where, (name) =>
      this.options.findTarget === undefined ? Promise.resolve(undefined) : this.options.findTarget(name),
    );
    return {
      deployment: { ...loaded.deployment, compute: found.compute },
      file: options.deploymentFile === undefined ? undefined : resolve(options.deploymentFile),
      target: found.target,
    };
  }

  private async resolveModel(
    deployment: ResolvedBatchDeployment,
  ): Promise<{ model: ModelVersion; modelDir: string; modelFile: string | undefined } | undefined> {
    const source = deployment.model;
    if (source === undefined) return undefined;
    if (source.kind === 'registered') return this.models.localFiles(source.reference);
    const name = source.name ?? deployment.name;
    const existing = await this.sameFileVersion(name, source.path);
    const model =
      existing ??
      (await this.models.register({
        name,
        path: source.path,
        description: `registered by batch deployment ${deployment.name}`,
      }));
    return this.models.localFiles(`${model.name}:${model.version}`);
  }

  /** An inline model file already registered under `name` is reused, so every run does not add a version. */
  private async sameFileVersion(name: string, path: string): Promise<ModelVersion | undefined> {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined || !info.isFile()) return undefined;
    const versions = await this.models.list({ name });
    if (versions.length === 0) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    return versions
      .reverse()
      .find((version) => version.artifact.kind === 'file' && version.artifact.sha256 === sha256);
  }
}

function programModel(
  model: ModelVersion,
  modelDir: string,
  modelFile: string | undefined,
): BatchProgramSpec['model'] {
  return {
    name: model.name,
    version: model.version,
    sha256: model.artifact.sha256,
    kind: model.artifact.kind,
    fileName: model.artifact.fileName,
    modelFile: model.modelFile,
    local: { modelDir, modelFile },
  };
}
