/**
 * Assembles the scoring server: the engine, admission, auth, metrics, logs, data collection, the
 * HTTP front end and (when a gRPC port is set and a starter given) the gRPC front end. The handle
 * it returns stops everything in order: stop accepting, finish what is in flight, close the
 * engine, flush the logs and the collected data.
 *
 * ```ts
 * const server = await startScoringServer(resolveScoringOptions({ port: 0, models }));
 * await server.ready;
 * // … POST http://127.0.0.1:${server.httpPort}/v2/models/<name>/infer
 * await server.close();
 * ```
 */
import { toBerthError } from '../core/errors.js';
import { createAdmission } from './admission.js';
import { createAuth, replicaTokenFromEnv, type Auth } from './auth.js';
import { createDataCollector, type DataCollector } from './data-collector.js';
import type { Admission, InferenceEngine, ModelRepository } from './engine.js';
import { createEngine } from './engine/index.js';
import { BodyBufferPool } from './http/body-pool.js';
import { createHttpFrontEnd } from './http/server.js';
import { createLogger, type Logger } from './logger.js';
import { describeMemoryLimit } from './memory-limit.js';
import { ScoringMetrics } from './metrics.js';
import type { ResolvedScoringOptions } from './options.js';

/** What a gRPC front end needs; src/scoring/grpc's startGrpcServer takes this shape. */
export interface GrpcStartOptions {
  engine: InferenceEngine;
  admission: Admission;
  host: string;
  port: number;
  /** The server's one set of keys, shared with the HTTP front end (rotation reaches both). */
  auth: Auth;
  requestTimeoutMs: number;
  shutdownGraceMs: number;
  /** Shared with the HTTP front end: gRPC requests are sampled and recorded the same way. */
  collector: DataCollector | undefined;
  metrics: ScoringMetrics;
  repository: ModelRepository | undefined;
  batching: { enabled: boolean; maxQueueDelayMs: number };
  /** False once a delayed stop has begun (stopDelayMs): ServerReady answers false, as HTTP does. */
  ready: () => boolean;
}

export type GrpcStarter = (options: GrpcStartOptions) => Promise<{ port: number; close(): Promise<void> }>;

export interface ScoringServerDependencies {
  /** Backs the v2 model repository API; without one those routes answer 400. */
  repository?: ModelRepository;
  /** Starts the gRPC front end when options.grpcPort is set. */
  grpc?: GrpcStarter;
  /** An engine to use instead of createEngine(options.engine); the server closes it. */
  engine?: InferenceEngine;
  logger?: Logger;
}

export interface ScoringServerHandle {
  readonly httpPort: number;
  readonly grpcPort: number | undefined;
  /** Resolves once the engine is ready (every model loaded and warmed). */
  readonly ready: Promise<void>;
  readonly auth: Auth;
  readonly metrics: ScoringMetrics;
  /** Graceful stop: safe to call more than once. */
  close(): Promise<void>;
}

function waitForReady(engine: InferenceEngine, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (engine.isReady() || stopped()) resolve();
      else setTimeout(check, 20).unref();
    };
    check();
  });
}

export async function startScoringServer(
  options: ResolvedScoringOptions,
  dependencies: ScoringServerDependencies = {},
): Promise<ScoringServerHandle> {
  const logger = dependencies.logger ?? createLogger(options.logLevel);
  const engine = dependencies.engine ?? (await createEngine(options.engine));
  const admission = createAdmission({
    maxConcurrent: options.maxConcurrentRequests,
    maxQueued: options.maxQueueSize,
  });
  const auth = createAuth(options.auth, replicaTokenFromEnv());
  const metrics = new ScoringMetrics({
    queueDepth: () => admission.queued,
    inFlight: () => admission.inFlight,
    workerRestarts: () => engine.engineStatistics?.().workerRestarts,
    health: () => engine.health?.(),
  });
  logger.log('info', 'memory-limit', {
    limit_bytes: options.engine.memoryLimitBytes,
    message: describeMemoryLimit(options.engine.memoryLimitBytes),
  });
  const stopWatchingFatal = engine.onFatal?.((failure) => {
    logger.log('error', 'cannot-recover', { cause: failure.cause, message: failure.message });
    logger.flush();
    if (!options.exitOnFatal) return;
    // Memory is over the limit: a quick exit, not a drain; the supervisor starts a fresh process.
    process.stderr.write(
      `${JSON.stringify({ event: 'failed', code: 'MEMORY_LIMIT', message: failure.message })}\n`,
    );
    process.exit(1);
  });
  const unsubscribe = engine.onBatch?.((event) => metrics.batchSize.observe(event.rows));
  metrics.batchesFromEngine = unsubscribe !== undefined;
  const collector =
    options.dataCollection &&
    createDataCollector(options.dataCollection, {
      onDrop: () => metrics.collectionDropped.inc(),
      onWritten: () => metrics.collected.inc(),
      onError: (error) =>
        logger.log('error', 'data-collection-failed', { message: toBerthError(error).message }),
    });
  const http = createHttpFrontEnd({
    engine,
    admission,
    auth,
    metrics,
    logger,
    collector,
    repository: dependencies.repository,
    options,
    bodies: new BodyBufferPool(),
    scriptSchemas: () => engine.scriptSchemas?.(),
  });

  let grpc: { port: number; close(): Promise<void> } | undefined;
  /** Set when a delayed stop begins: readiness answers no on both front ends while they serve on. */
  let leaving = false;
  let httpPort: number;
  try {
    httpPort = await http.listen(options.port, options.host);
    if (options.grpcPort !== undefined && dependencies.grpc !== undefined) {
      grpc = await dependencies.grpc({
        engine,
        admission,
        host: options.host,
        port: options.grpcPort,
        auth,
        requestTimeoutMs: options.requestTimeoutMs,
        shutdownGraceMs: options.drainTimeoutMs,
        collector,
        metrics,
        repository: dependencies.repository,
        batching: options.engine.batching,
        ready: () => !leaving,
      });
    }
  } catch (error) {
    await http.close(0).catch(() => undefined);
    await engine.close();
    throw error;
  }

  let stopped = false;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopped = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await Promise.all([http.close(options.drainTimeoutMs), grpc?.close()]);
      unsubscribe?.();
      stopWatchingFatal?.();
      await engine.close();
      await collector?.close();
      logger.log('info', 'stopped');
      logger.flush();
    })();
    return closing;
  };
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal during the delay stops at once.
    const delayMs = signalled ? 0 : options.stopDelayMs;
    signalled = true;
    logger.log('info', 'stopping', { signal, ...(delayMs > 0 ? { delay_ms: delayMs } : {}) });
    if (delayMs > 0) {
      leaving = true;
      http.unready();
      process.once(signal, onSignal);
      setTimeout(() => stop(), delayMs);
      return;
    }
    stop();
  };
  const stop = (): void => {
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.log('error', 'stop-failed', { message: toBerthError(error).message });
        logger.flush();
        process.exit(1);
      },
    );
  };
  if (options.handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  return {
    httpPort,
    grpcPort: grpc?.port,
    ready: waitForReady(engine, () => stopped),
    auth,
    metrics,
    close,
  };
}
