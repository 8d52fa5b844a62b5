/**
 * `createEngine`: the scoring server's execution engine. It compiles the scoring script, starts
 * the worker pool (every worker loads and warms every model), and then validates, batches and
 * dispatches requests. States: starting → ready → closing → closed; the promise from createEngine
 * resolves in `ready`, and everything but reads is refused with SHUTTING_DOWN once closing.
 */
import { dirname } from 'node:path';
import { BerthError, hasErrorCode, toBerthError } from '../../core/errors.js';
import { hasDynamicBatchDimension } from '../../core/tensor.js';
import type {
  BatchEvent,
  EncodedInferRequest,
  EngineFailure,
  EngineHealth,
  EncodedInferResponse,
  EngineOptions,
  EngineStatistics,
  InferRequest,
  InferResponse,
  LoadedModel,
  ModelStatistics,
  ModelToServe,
  ScriptRequest,
  ScriptResponse,
  ScriptSchemas,
} from '../engine.js';
import { compileScript } from '../runtimes/compile-script.js';
import { createPythonEngine, isPythonScript } from '../runtimes/python/engine.js';
import type { CompiledScript } from '../runtimes/compile-script.js';
import { createLogger } from '../runtimes/logger.js';
import type { Logger } from '../runtimes/logger.js';
import { Batcher } from './batcher.js';
import { EncodedRunner } from './encoded.js';
import { listFolder } from './folder-listing.js';
import { InFlight } from './in-flight.js';
import { InlineSessions } from './inline.js';
import type { LoadReport } from './messages.js';
import { ModelTable } from './model-table.js';
import type { ModelEntry } from './model-table.js';
import { WorkerPool } from './pool.js';
import { runScriptCall } from './script-call.js';
import { StatisticsRecorder } from './statistics.js';
import type { BatchListener } from './statistics.js';
import { checkOptions } from './check-options.js';
import { engineHealth } from './health.js';
import { checkMemoryAtStart, MemoryWatch } from './memory-watch.js';
import { runsInline } from './placement.js';
import { validateInferRequest } from './validate.js';
import type { EngineState, ScoringEngine } from './scoring-engine.js';

export type { EngineState, ScoringEngine } from './scoring-engine.js';

/**
 * Bodies at least this large are decoded on a worker (when the model allows, see acceptsEncoded):
 * below it, the hop costs more than the main thread's decoding does.
 */
export const ENCODED_MIN_BYTES = 64 * 1024;

/** Resolves once every worker has loaded and warmed every model; rejects (workers stopped) otherwise. */
export async function createEngine(options: EngineOptions): Promise<ScoringEngine> {
  checkOptions(options);
  if (isPythonScript(options.scoringScript)) return createPythonEngine(options);
  const logger = createLogger('berth-engine');
  const script = options.scoringScript === undefined ? undefined : await compileScript(options.scoringScript);
  const table = new ModelTable(options.batching.enabled);
  const entries = options.models.map((model) => table.begin(model).entry);
  let started: Awaited<ReturnType<typeof WorkerPool.create>>;
  try {
    started = await WorkerPool.create({
      size: options.workers,
      onnx: options.onnx,
      script:
        script === undefined ? undefined : { sourcePath: script.sourcePath, modulePath: script.modulePath },
      models: () => table.models(),
      maxOldGenerationMb: options.workerMaxOldGenerationMb,
      startTimeoutMs: options.workerStartTimeoutMs,
      probeMs: PROBE_MS,
      logger,
    });
  } catch (error) {
    await script?.dispose();
    throw await startupError(error, options);
  }
  const engine = new Engine(options, logger, table, started.pool, script, started.ready.script);
  try {
    for (const [index, entry] of entries.entries()) {
      await engine.markReady(entry, entry.model, started.ready.models[index]);
    }
    checkMemoryAtStart(options.memoryLimitBytes);
  } catch (error) {
    await engine.close();
    throw toBerthError(error);
  }
  engine.watchMemory();
  return engine;
}

/**
 * How long a worker has to answer a ping once a request on it has passed its deadline. A thread
 * whose event loop turns answers in microseconds; one that does not answer in a second is held by
 * a task that ignores the deadline.
 */
const PROBE_MS = 1_000;

class Engine implements ScoringEngine {
  state: EngineState = 'ready';
  private readonly stats = new StatisticsRecorder();
  private readonly batcher: Batcher;
  private readonly scriptCalls = new InFlight();
  private readonly batchListeners = new Set<BatchListener>();
  private readonly inline: InlineSessions;
  private readonly encoded: EncodedRunner;
  private cudaFallbackLogged = false;
  private closed: Promise<void> | undefined;
  private readonly memory: MemoryWatch;
  private modelsView: { revision: number; state: EngineState; models: readonly LoadedModel[] } | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly logger: Logger,
    private readonly table: ModelTable,
    private readonly pool: WorkerPool,
    private readonly script: CompiledScript | undefined,
    private readonly schemas: ScriptSchemas | undefined,
  ) {
    this.inline = new InlineSessions(options.onnx);
    this.memory = new MemoryWatch(pool, options.memoryLimitBytes, logger);
    this.encoded = new EncodedRunner(pool, this.stats, (event) => this.emitBatch(event));
    this.batcher = new Batcher(pool, this.inline, this.stats, options.batching, logger, {
      onBatch: (event) => this.emitBatch(event),
      onNotBatchable: (name, version) => table.markNotBatchable(name, version),
    });
  }

  /** Opens the main-thread session first when the model runs inline, so it is never served half-ready. */
  async markReady(entry: ModelEntry, model: ModelToServe, report: LoadReport | undefined): Promise<void> {
    const inline = runsInline(
      this.options.execution,
      model.framework,
      this.script !== undefined,
      report?.runMs,
    );
    if (inline) await this.inline.open(model, model.signature ?? report?.signature ?? null);
    else if (this.inline.has(model.name, model.version)) await this.inline.close(model.name, model.version);
    this.table.ready(entry, model, report, inline);
    this.stats.register(model.name, model.version);
    if (report?.cudaFallback !== undefined && !this.cudaFallbackLogged) {
      this.cudaFallbackLogged = true;
      this.logger.warn(
        `CUDA was requested but is not available; running on CPU instead (${report.cudaFallback})`,
      );
    }
    if (report?.warmUpError !== undefined) {
      this.logger.warn(
        `model "${model.name}" version ${model.version}: warm-up failed, serving anyway (${report.warmUpError})`,
      );
    }
  }

  /**
   * Every request looks its model up here, so the list is made again only when the table or the
   * engine's state changed (callers never modify it).
   */
  models(): readonly LoadedModel[] {
    const cached = this.modelsView;
    if (cached !== undefined && cached.revision === this.table.revision && cached.state === this.state)
      return cached.models;
    const models = this.listModels();
    this.modelsView = { revision: this.table.revision, state: this.state, models };
    return models;
  }

  private listModels(): LoadedModel[] {
    return this.table.all().map((entry) => ({
      name: entry.model.name,
      version: entry.version,
      signature: entry.signature,
      maxBatchSize: entry.batchable ? this.options.batching.maxBatchSize : 0,
      ready: entry.state === 'ready' && this.state === 'ready',
      scripted: this.script !== undefined,
    }));
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  /** Not `async`: the batcher's promise is returned as it is, without another wrapping turn. */
  infer(request: InferRequest): Promise<InferResponse> {
    try {
      return this.submit(request);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : toBerthError(error));
    }
  }

  private submit(request: InferRequest): Promise<InferResponse> {
    this.assertOpen();
    const entry = this.table.resolve(request.model, request.version);
    if (entry.signature === null) {
      throw new BerthError(
        'BAD_INPUT',
        `model "${entry.model.name}" version ${entry.version} has no tensor signature (framework ${entry.model.framework}): score it through its scoring script`,
      );
    }
    // Rows count as items in the statistics whether or not batching is on.
    const checked = validateInferRequest(
      entry.model,
      entry.signature,
      request,
      hasDynamicBatchDimension(entry.signature),
    );
    return this.batcher.submit({
      name: entry.model.name,
      version: entry.version,
      batchable: entry.batchable,
      inline: entry.inline,
      inputs: request.inputs,
      outputs: request.outputs,
      rows: checked.rows,
      stackKey: checked.stackKey,
      signal: request.signal,
      id: request.id,
    });
  }

  acceptsEncoded(model: string, version: string, byteLength: number): boolean {
    if (this.state !== 'ready' || byteLength < ENCODED_MIN_BYTES) return false;
    const entry = this.table.get(model, version);
    return entry !== undefined && entry.state === 'ready' && !entry.inline && entry.signature !== null;
  }

  /** Not `async`, like infer. */
  inferEncoded(request: EncodedInferRequest): Promise<EncodedInferResponse> {
    try {
      this.assertOpen();
      const entry = this.table.resolve(request.model, request.version);
      if (entry.signature === null || entry.inline) {
        throw new BerthError(
          'INTERNAL',
          `model "${entry.model.name}" version ${entry.version} does not take encoded requests`,
        );
      }
      const target = {
        name: entry.model.name,
        version: entry.version,
        signature: entry.signature,
        hasBatchDimension: hasDynamicBatchDimension(entry.signature),
      };
      return this.encoded.run(target, request);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : toBerthError(error));
    }
  }

  async runScript(request: ScriptRequest): Promise<ScriptResponse> {
    this.assertOpen();
    if (this.script === undefined) throw new BerthError('NOT_FOUND', 'this deployment has no scoring script');
    const entry = this.table.resolve(request.model, undefined);
    return this.scriptCalls.run(() => runScriptCall(this.pool, this.stats, entry, request));
  }

  statistics(name?: string, version?: string): ModelStatistics[] {
    return this.stats.snapshot(name, version);
  }

  async load(model: ModelToServe): Promise<void> {
    this.assertOpen();
    const { entry, isNew } = this.table.begin(model);
    try {
      const replies = await this.pool.broadcast<'load'>({ type: 'load', model });
      await this.markReady(entry, model, replies[0]?.report);
    } catch (error) {
      if (isNew) {
        this.table.remove(model.name, model.version);
        await this.pool
          .broadcast<'unload'>({ type: 'unload', name: model.name, version: model.version })
          .catch(() => undefined);
      }
      throw toBerthError(error);
    }
  }

  async unload(name: string, version?: string): Promise<void> {
    this.assertOpen();
    const entries = this.table
      .versionsOf(name)
      .filter((entry) => version === undefined || entry.version === version);
    if (entries.length === 0) {
      throw new BerthError(
        'NOT_FOUND',
        version === undefined
          ? `model "${name}" is not loaded`
          : `model "${name}" version ${version} is not loaded`,
      );
    }
    for (const entry of entries) {
      // Off the table first so nothing new arrives; queued requests are sent before the unload,
      // and a worker keeps a session until the runs already on it finish.
      this.table.remove(name, entry.version);
      this.batcher.flushModel(name, entry.version);
      await this.pool.broadcast<'unload'>({ type: 'unload', name, version: entry.version });
      await this.inline.close(name, entry.version);
      this.stats.forget(name, entry.version);
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  scriptSchemas(): ScriptSchemas | undefined {
    return this.schemas;
  }

  engineStatistics(): EngineStatistics {
    return {
      workers: this.pool.size,
      readyWorkers: this.pool.workers().filter((worker) => worker.state === 'ready').length,
      workerRestarts: this.pool.restarts,
      queueDepth: this.batcher.queueDepth(),
      inFlight: this.batcher.inFlight + this.encoded.inFlight + this.scriptCalls.size,
      encodedRequests: this.encoded.sent,
    };
  }

  /** Starts sampling memory; the baseline is taken now, with every model loaded. */
  watchMemory(): void {
    this.memory.start();
  }

  health(): EngineHealth {
    return engineHealth(this.pool, this.memory);
  }

  onFatal(listener: (failure: EngineFailure) => void): () => void {
    return this.memory.onFatal(listener);
  }

  placement(name: string, version?: string): 'inline' | 'workers' {
    return this.table.resolve(name, version).inline ? 'inline' : 'workers';
  }

  onBatch(listener: BatchListener): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  private async shutDown(): Promise<void> {
    this.state = 'closing';
    this.memory.stop();
    await Promise.all([this.batcher.drain(), this.encoded.idle(), this.scriptCalls.idle()]);
    await this.inline.closeAll();
    await this.pool.close();
    await this.script?.dispose();
    this.state = 'closed';
  }

  private assertOpen(): void {
    if (this.state !== 'ready') throw new BerthError('SHUTTING_DOWN', 'the scoring engine is shutting down');
  }

  private emitBatch(event: BatchEvent): void {
    for (const listener of this.batchListeners) {
      try {
        listener(event);
      } catch (error) {
        // A metrics hook must never fail a request.
        this.logger.warn('a batch listener threw', { error });
      }
    }
  }
}

/** A script's init failure gets the model folder's listing, so the CLI can print one clear message. */
async function startupError(error: unknown, options: EngineOptions): Promise<BerthError> {
  const berth = toBerthError(error);
  if (
    options.scoringScript === undefined ||
    !(hasErrorCode(berth, 'RUN_FAILED') || hasErrorCode(berth, 'WORKER_CRASHED'))
  ) {
    return berth;
  }
  const folder = options.models[0]?.modelDir ?? dirname(options.scoringScript);
  return new BerthError('RUN_FAILED', `${berth.message}\n${await listFolder(folder)}`, { cause: berth });
}
