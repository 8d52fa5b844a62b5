/**
 * gRPC load: `concurrency` loops, each with one ModelInfer in flight on a shared channel (as a
 * stock client would), sending raw_input_contents. Latencies are measured per call.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoLoaderOptions, protoPath } from '../../src/scoring/grpc/index.js';
import type { LoadResult } from './http-load.js';
import { summarize } from './stats.js';

export interface GrpcLoad {
  port: number;
  request: Record<string, unknown>;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  itemsPerRequest: number;
}

type Unary = (request: unknown, callback: (error: grpc.ServiceError | null) => void) => void;

export async function runGrpcLoad(load: GrpcLoad): Promise<LoadResult> {
  const loaded = grpc.loadPackageDefinition(loadSync(protoPath(), protoLoaderOptions));
  const Service = (loaded.inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
  const client = new Service(`127.0.0.1:${load.port}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc-node.flow_control_window': 1024 * 1024,
  });
  const infer = (client.ModelInfer as Unary).bind(client);
  const call = (): Promise<grpc.ServiceError | null> =>
    new Promise((resolve) => infer(load.request, (error) => resolve(error)));
  try {
    if (load.warmupSeconds > 0) await loop(call, load.concurrency, load.warmupSeconds);
    const { latencies, errors, elapsedMs } = await loop(call, load.concurrency, load.seconds);
    const latency = summarize(latencies);
    return {
      concurrency: load.concurrency,
      requestsPerSecond: (latencies.length * 1000) / elapsedMs,
      itemsPerSecond: (latencies.length * load.itemsPerRequest * 1000) / elapsedMs,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      errors,
    };
  } finally {
    client.close();
  }
}

async function loop(
  call: () => Promise<grpc.ServiceError | null>,
  concurrency: number,
  seconds: number,
): Promise<{ latencies: number[]; errors: number; elapsedMs: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: grpc.ServiceError | undefined;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const error = await call();
      if (error) {
        errors += 1;
        firstError ??= error;
      } else latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (firstError) process.stderr.write(`gRPC load: ${errors} errors, first: ${firstError.message}\n`);
  return { latencies, errors, elapsedMs: performance.now() - start };
}
