/**
 * The engine for a Python scoring script (`score.py`): the same contract as the JS engine
 * (scoring/engine/create-engine.ts), backed by a pool of Python worker processes. `/score` bodies
 * reach the script as they came (ScriptSchemas.rawRequest is true): `run(raw_data)` gets the body
 * as a string, a script decorated with `inference_schema` gets `run(**json_body)`, and one marked
 * `@rawhttp` gets an AMLRequest. Tensor inference (v2 infer) is not offered: the script is the model.
 * States: ready → closing → closed.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, toBerthError } from '../../../core/errors.js';
import type {
  BatchEvent,
  EncodedInferResponse,
  EngineFailure,
  EngineHealth,
  EngineOptions,
  EngineStatistics,
  InferResponse,
  LoadedModel,
  ModelStatistics,
  ScriptRequest,
  ScriptResponse,
  ScriptSchemas,
} from '../../engine.js';
import type { EngineState, ScoringEngine } from '../../engine/scoring-engine.js';
import { InFlight } from '../../engine/in-flight.js';
import { StatisticsRecorder, type BatchListener } from '../../engine/statistics.js';
import { createLogger, type Logger } from '../logger.js';
import { choosePython } from '../../../core/python-interpreter.js';
import { pythonEnvironment } from './layout.js';
import type { PythonResult } from './messages.js';
import { PythonMemoryWatch } from './memory.js';
import { PythonPool } from './pool.js';

/**
 * The python/ folder (worker and Azure compatibility package): $BERTH_PYTHON_ROOT where an image
 * puts it elsewhere (the bundled server has no repository around it), else the repository's, from
 * dist/src/scoring/runtimes/python/.
 */
export const pythonRoot =
  process.env.BERTH_PYTHON_ROOT !== undefined && process.env.BERTH_PYTHON_ROOT !== ''
    ? process.env.BERTH_PYTHON_ROOT.replace(/\/?$/, '/')
    : fileURLToPath(new URL('../../../../../python/', import.meta.url));

/**
 * At most this many waiting `/score` bodies travel to a process in one message when run_batch() is
 * not used; each still gets its own run() call. It bounds how long the first of them waits for the
 * others' run() calls.
 */
const GROUPED_RUNS = 8;

export function isPythonScript(path: string | undefined): boolean {
  return path !== undefined && path.toLowerCase().endsWith('.py');
}

export async function createPythonEngine(options: EngineOptions): Promise<ScoringEngine> {
  const script = options.scoringScript;
  if (script === undefined) throw new BerthError('INTERNAL', 'the Python engine needs a scoring script');
  const logger = createLogger('berth-python');
  const python = choosePython(options.python);
  logger.info(`Python scoring script ${script} runs on ${python.path} (chosen because ${python.source})`, {
    python: python.path,
  });
  const { pool, ready } = await PythonPool.create({
    size: options.workers,
    logger,
    process: {
      python: python.path,
      workerScript: `${pythonRoot}berth_worker.py`,
      cwd: dirname(script),
      env: pythonEnvironment(options.models, script),
      startTimeoutMs: options.workerStartTimeoutMs,
      logger,
    },
  });
  logger.info(`${options.workers} Python ${ready.python} worker(s) ready`);
  const batching = ready.batch && options.batching.enabled && options.batching.maxBatchSize > 1;
  if (batching) {
    pool.batchRuns(options.batching.maxBatchSize);
    logger.info(
      `the script defines run_batch(): up to ${options.batching.maxBatchSize} /score requests share a call`,
    );
  } else {
    pool.groupRuns(GROUPED_RUNS);
    if (ready.batch) {
      logger.info('the script defines run_batch(), but batching is off: each request calls run()');
    }
  }
  const schemas: ScriptSchemas = {
    rawRequest: true,
    input: ready.schemas.input ?? undefined,
    output: ready.schemas.output ?? undefined,
  };
  return new PythonEngine(options, pool, schemas, ready.schemas.raw, batching, logger);
}

class PythonEngine implements ScoringEngine {
  state: EngineState = 'ready';
  private readonly stats = new StatisticsRecorder();
  private readonly calls = new InFlight();
  private readonly batchListeners = new Set<BatchListener>();
  private readonly memory: PythonMemoryWatch;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly options: EngineOptions,
    private readonly pool: PythonPool,
    private readonly schemas: ScriptSchemas,
    private readonly rawHttp: boolean,
    private readonly batching: boolean,
    private readonly logger: Logger,
  ) {
    for (const model of options.models) this.stats.register(model.name, model.version);
    this.memory = new PythonMemoryWatch(pool, options.memoryLimitBytes, logger);
    this.memory.start();
  }

  models(): LoadedModel[] {
    return this.options.models.map((model) => ({
      name: model.name,
      version: model.version,
      signature: model.signature,
      maxBatchSize: this.batching ? this.options.batching.maxBatchSize : 0,
      ready: this.state === 'ready',
      scripted: true,
    }));
  }

  isReady(): boolean {
    return this.state === 'ready';
  }

  infer(): Promise<InferResponse> {
    return Promise.reject(this.noTensors());
  }

  inferEncoded(): Promise<EncodedInferResponse> {
    return Promise.reject(this.noTensors());
  }

  acceptsEncoded(): boolean {
    return false;
  }

  async runScript(request: ScriptRequest): Promise<ScriptResponse> {
    this.assertOpen();
    const model =
      this.options.models.find((candidate) => candidate.name === request.model) ?? this.options.models[0];
    const name = model?.name ?? 'script';
    const version = model?.version ?? '1';
    const bytes = request.raw?.bytes ?? Buffer.from(JSON.stringify(request.body ?? null));
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const requestId = request.id ?? null;
    // The body's bytes go to Python as they came: no decoding or re-encoding on the way.
    const message =
      this.rawHttp && request.raw !== undefined
        ? {
            type: 'raw' as const,
            requestId,
            body,
            headers: request.raw.headers,
            method: request.raw.method,
            path: request.raw.path,
          }
        : { type: 'run' as const, requestId, body };
    const started = process.hrtime.bigint();
    const done = this.calls.begin();
    try {
      const result = await this.pool.run(message, request.signal, request.id);
      const totalNs = Number(process.hrtime.bigint() - started);
      // A run_batch() call is one execution of batchSize items, counted by its first request.
      if (result.leader) this.stats.execution(name, version, result.batchSize);
      this.stats.success(name, version, totalNs, Math.max(0, totalNs - result.execNs), result.execNs);
      if (result.leader) {
        const size = result.batchSize;
        this.emitBatch({ model: name, version, requests: size, rows: size, computeMs: result.execNs / 1e6 });
      }
      return toResponse(result);
    } catch (error) {
      this.stats.failure(name, version, Number(process.hrtime.bigint() - started));
      throw error;
    } finally {
      done();
    }
  }

  statistics(name?: string, version?: string): ModelStatistics[] {
    return this.stats.snapshot(name, version);
  }

  load(): Promise<void> {
    return Promise.reject(
      new BerthError(
        'NOT_IMPLEMENTED',
        'a Python scoring script serves the models it started with: restart to change them',
      ),
    );
  }

  unload(): Promise<void> {
    return this.load();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.state = 'closing';
      this.memory.stop();
      await this.calls.idle();
      await this.pool.close();
      this.state = 'closed';
    })();
    return this.closed;
  }

  scriptSchemas(): ScriptSchemas {
    return this.schemas;
  }

  engineStatistics(): EngineStatistics {
    return {
      workers: this.pool.size,
      readyWorkers: this.pool.readyCount(),
      workerRestarts: this.pool.history.replacements,
      queueDepth: this.pool.queued,
      inFlight: this.calls.size,
      encodedRequests: 0,
    };
  }

  onBatch(listener: BatchListener): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  health(): EngineHealth {
    const { history } = this.pool;
    const canScore = this.pool.canScore();
    return {
      live: canScore,
      reason: canScore
        ? undefined
        : `no Python worker can start: ${history.failedStarts} starts in a row failed (${history.lastFailure?.message ?? 'no reason given'})`,
      workers: { configured: this.pool.size, alive: this.pool.readyCount() },
      replaced: { ...history.replaced },
      lastFailure: history.lastFailure ?? null,
      memory: { limitBytes: this.options.memoryLimitBytes, rssBytes: this.memory.totalRss() },
    };
  }

  onFatal(): () => void {
    // The memory watch always has a Python process to blame, so there is no unowned excess.
    return () => undefined;
  }

  placement(): 'inline' | 'workers' {
    return 'workers';
  }

  private noTensors(): BerthError {
    return new BerthError(
      'BAD_INPUT',
      'this deployment runs a Python scoring script: send requests to POST /score (tensor inference is not offered)',
    );
  }

  private assertOpen(): void {
    if (this.state !== 'ready') throw new BerthError('SHUTTING_DOWN', 'the scoring engine is shutting down');
  }

  private emitBatch(event: BatchEvent): void {
    for (const listener of this.batchListeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn('a batch listener threw', { error: toBerthError(error).message });
      }
    }
  }
}

function toResponse(result: PythonResult): ScriptResponse {
  const execMs = result.execNs / 1e6;
  // Octets and JSON are passed through as bytes; other text as a string, which the handler sends as it is.
  if (result.binary || result.contentType.includes('json')) {
    return { status: result.status, contentType: result.contentType, body: result.body, execMs };
  }
  return {
    status: result.status,
    contentType: result.contentType,
    body: result.body.toString('utf8'),
    execMs,
  };
}

export type { EngineFailure };
