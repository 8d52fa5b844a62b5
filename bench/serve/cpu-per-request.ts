/**
 * `node dist/bench/serve/cpu-per-request.js [--requests 20000] [--concurrency 16] [--rounds 5]
 * [--server berth|echo] [--payload v2|score|binary] [--batching 4] [--model tiny|ocr]
 * [--max-concurrent N] [--no-malloc-threshold]`: the server's own CPU time per request (on the
 * tiny model unless `--model ocr`), read from /proc/<pid>/stat before and after a fixed number of
 * requests, for the whole process and for its main thread alone. With `--batching N` berth batches
 * up to N rows, as bench:serve runs it. berth starts as its targets start it (src/core/heap-headroom.ts),
 * or without the malloc mmap threshold with `--no-malloc-threshold`.
 *
 * The main thread's share is what bounds a Node.js server's requests/s once it has cores of its
 * own: V8's helper threads (concurrent marking, compilers) run beside it. On a 2-core machine
 * shared with the load generator, the main-thread ratio of two servers is the fairest estimate of
 * their throughput ratio on a server with cores to spare.
 *
 * Wall-clock requests/s on a small shared machine swings with whatever else runs; the CPU a
 * server spends per request does not, so this is the number to compare variants of the HTTP path
 * by (run two builds back to back, alternating). Linux only.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { scoringProcessEnv, scoringProcessFlags } from '../../src/core/heap-headroom.js';
import { startChild, type ChildServer } from './child.js';
import { cpuMicros } from './proc-cpu.js';
import { prepareModels, toServe } from './models.js';
import { buildPayloads, type HttpPayload } from './payloads.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const requests = Number(option('requests', '20000'));
const concurrency = Number(option('concurrency', '16'));
const rounds = Number(option('rounds', '5'));
const which = option('server', 'berth');
const payloadName = option('payload', 'v2');
const maxBatchSize = Number(option('batching', '0'));
const modelName = option('model', 'tiny');
const maxConcurrent = Number(option('max-concurrent', '0'));

async function fire(port: number, payload: HttpPayload, amount: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${payload.path}`,
    method: 'POST',
    body: payload.body,
    headers: payload.headers,
    connections: concurrency,
    pipelining: 1,
    amount,
    timeout: 30,
  });
  return result.errors + result.non2xx;
}

const { tiny, ocr } = await prepareModels();
const model = modelName === 'ocr' ? ocr : tiny;
const payloads = buildPayloads(model);
const payload =
  payloadName === 'score'
    ? payloads.scoreJson
    : payloadName === 'binary'
      ? payloads.v2Binary
      : payloads.v2Json;
const server: ChildServer =
  which === 'echo'
    ? await startChild('plain', { mode: 'echo', file: '' })
    : await startChild(
        'berth',
        {
          options: {
            host: '127.0.0.1',
            port: 0,
            grpcPort: 0,
            models: [toServe(model)],
            maxQueueSize: concurrency * 4,
            requestTimeoutMs: 30_000,
            logLevel: 'silent',
            ...(maxBatchSize > 0 ? { batching: { enabled: true, maxBatchSize } } : {}),
            ...(maxConcurrent > 0 ? { maxConcurrentRequests: maxConcurrent } : {}),
          },
        },
        scoringProcessFlags(),
        process.argv.includes('--no-malloc-threshold') ? {} : scoringProcessEnv,
      );
try {
  const port = server.ports.http ?? 0;
  await fire(port, payload, Math.min(requests, 5000));
  const perRequest: number[] = [];
  const mainPerRequest: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = cpuMicros(server.pid);
    const mainBefore = cpuMicros(server.pid, server.pid);
    const started = performance.now();
    const errors = await fire(port, payload, requests);
    const seconds = (performance.now() - started) / 1000;
    const micros = (cpuMicros(server.pid) - before) / requests;
    const mainMicros = (cpuMicros(server.pid, server.pid) - mainBefore) / requests;
    perRequest.push(micros);
    mainPerRequest.push(mainMicros);
    console.log(
      `${which} ${payloadName}: ${micros.toFixed(1)} µs CPU/request (main thread ${mainMicros.toFixed(1)}), ${Math.round(requests / seconds)} req/s${errors > 0 ? `, ${errors} errors` : ''}`,
    );
  }
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const peakRss = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  const median = (values: number[]): number =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(
    `${which} ${payloadName}: median ${median(perRequest).toFixed(1)} µs (main thread ${median(mainPerRequest).toFixed(1)}), peak RSS ${Math.round(Number(peakRss) / 1024)} MiB`,
  );
} finally {
  await server.stop();
}
