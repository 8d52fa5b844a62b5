/**
 * The ssh target's batch engine: the embedded engine's pool of worker processes, run on the
 * machine over the target's SSH connection. One slot per `instance_count ×
 * max_concurrency_per_instance`, each an SSH session running the bundled batch worker in the job's
 * folder (`<workdir>/batch/<job>/`); a slot's process lives across mini-batches, is killed (on the
 * machine, by its pid) when an attempt times out or is aborted, and a dead one is replaced on the
 * slot's next attempt. The coordinator here keeps retries, thresholds and the exactly-once output:
 * a worker only sends rows back.
 *
 * What it runs ships as a deployment's release does, content-addressed into the same cache (so a
 * model deployed there is not sent again): the scoring-server bundle (for its ONNX Runtime), the
 * worker bundle, the model folder and the scoring script's folder. Inputs ship on first use
 * (batch-inputs.ts). close() ends the workers and deletes the job's folder; the cache stays for
 * the next job or deployment, and `remove` of the target's deployments prunes it.
 */
import { basename, dirname, relative } from 'node:path';
import {
  attemptAbortError,
  failedAttempt,
  type BatchEngine,
  type BatchEngineContext,
  type ExecuteHooks,
  type MiniBatchOutcome,
  type MiniBatchTask,
} from '../../batch/engine.js';
import { BerthError, toBerthError } from '../../core/errors.js';
import { serverBundle } from '../container/bundle.js';
import { SlotPool } from '../../batch/slot-pool.js';
import { RemoteArtifacts } from './artifacts.js';
import { batchWorkerBundle, batchWorkerFile } from './batch-bundle.js';
import { RemoteInputs } from './batch-inputs.js';
import type { ToSshWorker } from './batch-messages.js';
import { RemoteWorkerProcess, type WorkerEvent } from './batch-worker-process.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { shellQuote, SshConnection } from './connection.js';
import { failOnProblems, machineProblems, readMachine } from './machine.js';
import { pythonEnvironment, pythonNeeds, pythonProblems, pythonWorkerFolder } from './python.js';
import { isPythonScript } from '../../scoring/runtimes/python/engine.js';
import { codeFolderRequirements } from '../container/python-requirements.js';

/** Loading a model or compiling a script can take far longer than one mini-batch. */
const minimumInitMs = 120_000;
/** Disk the server bundle and the worker take on the machine, with room to spare. */
const runtimeBytes = 400 * 2 ** 20;

interface Prepared {
  jobDir: string;
  /** Read when the worker starts (the Python runtime's interpreter and worker): set on its command line. */
  environment: Record<string, string>;
  inputs: RemoteInputs;
  init: Omit<Extract<ToSshWorker, { type: 'init' }>, 'worker' | 'environment'>;
  threads: number;
}

interface Slot {
  name: string;
  index: number;
  process: RemoteWorkerProcess | undefined;
}

export class SshBatchEngine implements BatchEngine {
  readonly kind = 'ssh' as const;
  private readonly connection: SshConnection;
  private readonly slots: Slot[];
  private readonly pool: SlotPool<Slot>;
  private prepared: Promise<Prepared> | undefined;

  constructor(
    private readonly config: ResolvedSshTargetConfig,
    private readonly context: BatchEngineContext,
  ) {
    this.connection = new SshConnection(config);
    const size = context.instanceCount * context.maxConcurrencyPerInstance;
    this.slots = Array.from({ length: size }, (_, index) => ({
      name: `w${index + 1}`,
      index,
      process: undefined,
    }));
    this.pool = new SlotPool(this.slots, 'the ssh batch engine');
  }

  async execute(task: MiniBatchTask, signal?: AbortSignal, hooks?: ExecuteHooks): Promise<MiniBatchOutcome> {
    return this.pool.using(signal, (slot) => this.attempt(slot, task, signal, hooks));
  }

  async close(): Promise<void> {
    this.pool.close();
    try {
      await Promise.all(
        this.slots.map(async (slot) => {
          slot.process?.leave();
          const grace = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
          await Promise.race([slot.process?.exited, grace]);
          await this.stop(slot);
        }),
      );
      const prepared = await this.prepared?.catch(() => undefined);
      if (prepared !== undefined) {
        const batchDir = dirname(prepared.jobDir);
        await this.connection
          .run(
            `rm -rf ${shellQuote(prepared.jobDir)}; rmdir ${shellQuote(batchDir)} 2>/dev/null; exit 0`,
            'removing the job folder',
          )
          .catch((error: unknown) =>
            this.note('-', `cannot remove ${prepared.jobDir}: ${toBerthError(error).message}`),
          );
      }
    } finally {
      await this.connection.close();
    }
  }

  /** Ships what the job runs (once per engine) and makes the job's folder on the machine. */
  private prepare(): Promise<Prepared> {
    this.prepared ??= (async () => {
      const { program, jobId } = this.context;
      const facts = await readMachine(this.connection, this.config);
      const python = isPythonScript(program.scoringScript);
      failOnProblems(
        [
          ...machineProblems(facts, this.config, runtimeBytes),
          ...(python && program.scoringScript !== undefined
            ? await pythonProblems(
                this.connection,
                this.config,
                pythonNeeds(
                  codeFolderRequirements(dirname(program.scoringScript)),
                  dirname(program.scoringScript),
                ),
              )
            : []),
        ],
        this.connection.where,
      );
      const artifacts = new RemoteArtifacts(this.connection, facts.workdir, this.config.cacheDir);
      const server = await serverBundle(this.config.cacheDir);
      const worker = await batchWorkerBundle(this.config.cacheDir);
      const shippedServer = await artifacts.ship('server', server.dir, server.sha256);
      const shippedWorker = await artifacts.ship('batch-worker', worker.dir, worker.sha256);
      let modelDir: string | undefined;
      let modelFile: string | undefined;
      if (program.model !== undefined) {
        const local = program.model.local;
        if (local === undefined) {
          throw new BerthError('INTERNAL', 'the job names a model but not where its files are here');
        }
        const shipped = await artifacts.ship('model', local.modelDir);
        modelDir = shipped.remoteDir;
        if (local.modelFile !== undefined)
          modelFile = `${modelDir}/${relative(local.modelDir, local.modelFile)}`;
        this.note(
          '-',
          `model ${program.model.name}:${program.model.version} ${shipped.sent ? 'shipped to' : 'already on'} ${this.connection.where}`,
        );
      }
      let scoringScript: string | undefined;
      if (program.scoringScript !== undefined) {
        const shipped = await artifacts.ship('code', dirname(program.scoringScript));
        scoringScript = `${shipped.remoteDir}/${basename(program.scoringScript)}`;
      }
      let environment: Record<string, string> = {};
      if (python) {
        const shipped = await artifacts.ship('python', pythonWorkerFolder(this.config.cacheDir));
        environment = pythonEnvironment(this.config, shipped.remoteDir);
      }
      const jobDir = `${facts.workdir}/batch/${jobId}`;
      await this.connection.run(
        [
          `mkdir -p ${shellQuote(jobDir)}`,
          `cp ${shellQuote(`${shippedWorker.remoteDir}/${batchWorkerFile}`)} ${shellQuote(jobDir)}/`,
          `ln -sfn ${shellQuote(`${shippedServer.remoteDir}/node_modules`)} ${shellQuote(`${jobDir}/node_modules`)}`,
        ].join(' && '),
        'making the job folder',
      );
      const { local: _local, ...model } = program.model ?? {};
      return {
        jobDir,
        environment,
        inputs: new RemoteInputs(this.connection, `${jobDir}/in`),
        init: {
          type: 'init',
          jobId,
          program: {
            ...program,
            scoringScript,
            model: program.model === undefined ? undefined : (model as typeof program.model),
          },
          modelDir,
          modelFile,
        },
        threads: Math.max(1, Math.floor(Math.max(1, facts.cores) / this.slots.length)),
      };
    })();
    // A machine that could not be reached is tried again by the next attempt.
    this.prepared.catch(() => (this.prepared = undefined));
    return this.prepared;
  }

  private async attempt(
    slot: Slot,
    task: MiniBatchTask,
    signal: AbortSignal | undefined,
    hooks: ExecuteHooks | undefined,
  ): Promise<MiniBatchOutcome> {
    const started = Date.now();
    const failed = (code: string, message: string, phase: 'init' | 'run'): MiniBatchOutcome =>
      failedAttempt(task, slot.name, started, { code, message, phase });
    let prepared: Prepared;
    try {
      prepared = await this.prepare();
    } catch (error) {
      const berth = toBerthError(error);
      this.note(slot.name, `cannot prepare ${this.connection.where}: ${berth.message}`);
      // A machine that cannot be reached or lacks what the job needs fails every worker alike.
      return failed(berth.code, `${this.connection.where}: ${berth.message}`, 'init');
    }
    let plan: MiniBatchTask['plan'];
    try {
      plan = await prepared.inputs.remotePlan(task.plan);
    } catch (error) {
      const berth = toBerthError(error);
      return failed(berth.code, berth.message, 'run');
    }
    if (slot.process === undefined) {
      const process = this.spawn(slot, prepared);
      const event = await process.next(Math.max(minimumInitMs, task.timeoutMs), signal);
      if (event.kind !== 'message' || event.message.type !== 'ready') {
        await this.stop(slot);
        if (event.kind === 'aborted') throw attemptAbortError(signal);
        if (event.kind === 'message' && event.message.type === 'init-failed') {
          return failed(event.message.error.code, event.message.error.message, 'init');
        }
        return failed(
          'WORKER_CRASHED',
          `worker ${slot.name} on ${this.connection.where} ${describe(event)} while starting`,
          'init',
        );
      }
    }
    const process = slot.process;
    if (process === undefined) return failed('WORKER_CRASHED', `worker ${slot.name} is gone`, 'init');
    hooks?.onStarted?.({ name: slot.name, pid: process.remotePid, host: this.config.host });
    process.send({ type: 'run', task: { ...task, plan, program: prepared.init.program } });
    const event = await process.next(task.timeoutMs, signal);
    if (event.kind === 'message' && event.message.type === 'outcome') {
      return prepared.inputs.localOutcome(event.message.outcome);
    }
    await this.stop(slot);
    if (event.kind === 'aborted') throw attemptAbortError(signal);
    if (event.kind === 'timeout') {
      this.note(slot.name, `mini-batch ${task.plan.index} timed out; process ${process.remotePid} killed`);
      return failed(
        'UPSTREAM_TIMEOUT',
        `run() did not finish within ${task.timeoutMs / 1000} s (retry_settings.timeout)`,
        'run',
      );
    }
    return failed(
      'WORKER_CRASHED',
      `worker ${slot.name} (pid ${process.remotePid ?? '?'} on ${this.connection.where}) ${describe(event)} while running mini-batch ${task.plan.index}`,
      'run',
    );
  }

  private spawn(slot: Slot, prepared: Prepared): RemoteWorkerProcess {
    const process = new RemoteWorkerProcess(
      this.connection,
      `cd ${shellQuote(prepared.jobDir)} && exec env ${Object.entries(prepared.environment)
        .map(([name, value]) => `${name}=${shellQuote(value)} `)
        .join('')}${shellQuote(this.config.nodePath)} --enable-source-maps ${batchWorkerFile}`,
      (stream, line) => this.context.log({ worker: slot.name, stream, line }),
    );
    slot.process = process;
    void process.exited.then(() => {
      if (slot.process === process) slot.process = undefined;
      this.note(slot.name, `process ${process.remotePid ?? '?'} on ${this.connection.where} ended`);
    });
    const gpus = this.context.gpus;
    const environment: Record<string, string> = {
      ...this.context.program.environmentVariables,
      BERTH_BATCH_WORKER: slot.name,
      BERTH_ORT_INTRA_OP_THREADS: String(prepared.threads),
    };
    if (gpus !== undefined && gpus.length > 0)
      environment.CUDA_VISIBLE_DEVICES = gpus[slot.index % gpus.length] ?? '';
    // The variables travel on the session's stdin, never in an argument.
    process.send({ ...prepared.init, worker: slot.name, environment });
    this.note(slot.name, `process started on ${this.connection.where}`);
    return process;
  }

  private async stop(slot: Slot): Promise<void> {
    const process = slot.process;
    slot.process = undefined;
    await process?.stop();
  }

  private note(worker: string, line: string): void {
    this.context.log({ worker, stream: 'berth', line });
  }
}

function describe(event: WorkerEvent): string {
  if (event.kind === 'exit')
    return event.signal !== null ? `was killed (${event.signal})` : `exited with code ${event.code}`;
  if (event.kind === 'timeout') return 'did not answer in time';
  return 'sent an unexpected message';
}

export async function createSshBatchEngine(
  config: ResolvedSshTargetConfig,
  context: BatchEngineContext,
): Promise<BatchEngine> {
  return new SshBatchEngine(config, context);
}
