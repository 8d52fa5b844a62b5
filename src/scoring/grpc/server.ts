/**
 * Starts the gRPC front end of the scoring server: the Open Inference Protocol v2 service over
 * HTTP/2, sharing the engine and admission with the HTTP front end.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { BerthError } from '../../core/errors.js';
import type { Auth } from '../auth.js';
import type { DataCollector } from '../data-collector.js';
import type { Admission, InferenceEngine, ModelRepository } from '../engine.js';
import type { ScoringMetrics } from '../metrics.js';
import { createKeyCheck } from './auth.js';
import { loadInferenceService, packageVersion } from './proto.js';
import { createInferenceService } from './service.js';

export interface GrpcServerOptions {
  engine: InferenceEngine;
  admission: Admission;
  /** Interface to listen on, e.g. '127.0.0.1' or '0.0.0.0'. */
  host: string;
  /** 0 picks a free port; the handle reports the one bound. */
  port: number;
  /**
   * The server's keys, checked on every call (`authorization: Bearer <key>`); rotating them with
   * `auth.setKeys` takes effect at once. Undefined, or an auth with no key, lets every call in.
   */
  auth?: Auth;
  /** Longest a ModelInfer may take, queueing included; a shorter client deadline wins. */
  requestTimeoutMs: number;
  /** Largest request or response message. Default 64 MiB (grpc-js's own default is 4 MiB). */
  maxMessageBytes?: number;
  /** How long close() lets in-flight calls finish before cutting them. Default 10 000 ms. */
  shutdownGraceMs?: number;
  /** The server's data collector, shared with the HTTP front end. Default: no collection. */
  collector?: DataCollector;
  /** The server's metrics, shared with the HTTP front end. Default: none recorded. */
  metrics?: ScoringMetrics;
  /** Backs the repository RPCs; without one they refuse, as the HTTP routes do. */
  repository?: ModelRepository;
  /** Dynamic batching as the engine runs it, for ModelConfig. Default: not batching. */
  batching?: { enabled: boolean; maxQueueDelayMs: number };
  /** The server's own readiness besides the engine's: false during a delayed stop. Default: ready. */
  ready?: () => boolean;
}

export interface GrpcServerHandle {
  port: number;
  /** Stops taking calls, lets in-flight ones finish for the grace period, then cuts the rest. */
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
const FLOW_CONTROL_WINDOW_BYTES = 1024 * 1024;

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // HTTP/2's default 64 KiB window stalls every tensor larger than that on a window update;
    // 1 MiB lets a few image-sized requests per connection arrive in one go.
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  });
  server.addService(
    loadInferenceService(),
    createInferenceService({
      engine: options.engine,
      admission: options.admission,
      checkKey: createKeyCheck(options.auth),
      requestTimeoutMs: options.requestTimeoutMs,
      serverVersion: packageVersion(),
      collector: options.collector,
      metrics: options.metrics,
      repository: options.repository,
      batching: options.batching?.enabled === true ? options.batching : undefined,
      ready: options.ready ?? (() => true),
    }),
  );
  const port = await bind(server, options.host, options.port);
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= shutdown(server, graceMs);
      return closing;
    },
  };
}

function bind(server: Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, bound) => {
      if (error)
        reject(
          new BerthError('INTERNAL', `gRPC server cannot listen on ${address}: ${error.message}`, {
            cause: error,
          }),
        );
      else resolve(bound);
    });
  });
}

function shutdown(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
