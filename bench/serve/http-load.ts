/**
 * HTTP load with autocannon (the same generator for every HTTP server compared): a warm-up
 * window, then a measured one at a fixed number of connections, each with one request in flight.
 */
import autocannon from 'autocannon';
import type { HttpPayload } from './payloads.js';

export interface LoadResult {
  concurrency: number;
  requestsPerSecond: number;
  itemsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed: connection errors, timeouts and non-2xx answers. */
  errors: number;
  /** The load generator's share of all the cores while this load ran (1 = every core). */
  generatorShare?: number;
}

export interface HttpLoad {
  port: number;
  payload: HttpPayload;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  itemsPerRequest: number;
}

export async function runHttpLoad(load: HttpLoad): Promise<LoadResult> {
  if (load.warmupSeconds > 0) await fire(load, load.warmupSeconds);
  const result = await fire(load, load.seconds);
  const ok = result['2xx'];
  return {
    concurrency: load.concurrency,
    requestsPerSecond: ok / result.duration,
    itemsPerSecond: (ok * load.itemsPerRequest) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

function fire(load: HttpLoad, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: `http://127.0.0.1:${load.port}${load.payload.path}`,
    method: 'POST',
    body: load.payload.body,
    headers: load.payload.headers,
    connections: load.concurrency,
    pipelining: 1,
    duration: seconds,
    timeout: 30,
  });
}
