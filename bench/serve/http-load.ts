/**
 * HTTP load with autocannon (the same generator for every HTTP server compared): a warm-up
 * window, then a measured one at a fixed number of connections, each with one request in flight.
 */
import autocannon from 'autocannon';
import type { HttpPayload } from './payloads.js';
import { cpuMicros } from './proc-cpu.js';

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
  /**
   * The server's main-thread CPU per answered request over the measured window, µs (when its pid
   * was given): what bounds a Node.js server's requests/s once it has cores of its own.
   */
  serverMainMicrosPerRequest?: number;
}

export interface HttpLoad {
  port: number;
  payload: HttpPayload;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  itemsPerRequest: number;
  /** The server's process id, to read its main thread's CPU time (Linux). */
  serverPid?: number;
}

export async function runHttpLoad(load: HttpLoad): Promise<LoadResult> {
  if (load.warmupSeconds > 0) await fire(load, load.warmupSeconds);
  const pid = load.serverPid;
  const before = pid === undefined ? 0 : cpuMicros(pid, pid);
  const result = await fire(load, load.seconds);
  const ok = result['2xx'];
  const mainMicros = pid === undefined ? undefined : cpuMicros(pid, pid) - before;
  return {
    ...(mainMicros === undefined || ok === 0 ? {} : { serverMainMicrosPerRequest: mainMicros / ok }),
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
