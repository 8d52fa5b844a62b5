/**
 * `node dist/bench/serve/cpu-per-request.js [--requests 20000] [--concurrency 16] [--rounds 5]
 * [--server berth|echo|plain] [--against echo|berth|plain] [--payload v2|score|binary] [--batching 4]
 * [--model tiny|ocr] [--serve-both] [--max-concurrent N] [--no-malloc-threshold]`: the server's own CPU time per
 * request (on the tiny model unless `--model ocr`; berth loads both models with `--serve-both`, as
 * bench:serve runs it), read from /proc/<pid>/stat before and after a
 * fixed number of requests, for the whole process and for its main thread alone. With `--batching
 * N` berth batches up to N rows, as bench:serve runs it. berth starts as its targets start it
 * (src/core/heap-headroom.ts), or without the malloc mmap threshold with `--no-malloc-threshold`.
 *
 * The main thread's share is what bounds a Node.js server's requests/s once it has cores of its
 * own: V8's helper threads (concurrent marking, compilers) run beside it. On a 2-core machine
 * shared with the load generator, the main-thread ratio of two servers is the fairest estimate of
 * their throughput ratio on a server with cores to spare.
 *
 * What one process spends per request moves by a quarter from one minute to the next on a shared
 * machine (the echo server's too). `--against echo` starts both servers and alternates their rounds,
 * so each pair of rounds sees the same machine, and prints the ratio of each pair and their median:
 * the number to compare variants of the HTTP path by. Requests/s is not printed: autocannon ends a
 * run of a fixed number of requests on its one-second tick, so a round's wall time is whole
 * seconds, not the server's. Linux only.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { scoringProcessEnv, scoringProcessFlags } from '../../src/core/heap-headroom.js';
import { startChild, type ChildServer } from './child.js';
import { cpuMicros } from './proc-cpu.js';
import { prepareModels, toServe, type BenchModel } from './models.js';
import { buildPayloads, type HttpPayload } from './payloads.js';
import { median } from './stats.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

/** berth; the echo server (the floor); the obvious hand-written server (JSON.parse, one session.run per request). */
type ServerKind = 'berth' | 'echo' | 'plain';

function serverKind(name: string, value: string): ServerKind {
  if (value !== 'berth' && value !== 'echo' && value !== 'plain')
    throw new Error(`--${name} must be berth, echo or plain, not ${value}`);
  return value;
}

const requests = Number(option('requests', '20000'));
const concurrency = Number(option('concurrency', '16'));
const rounds = Number(option('rounds', '5'));
const which = serverKind('server', option('server', 'berth'));
const againstText = option('against', '');
const against = againstText === '' ? undefined : serverKind('against', againstText);
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

function startServer(kind: ServerKind, model: BenchModel): Promise<ChildServer> {
  if (kind === 'echo') return startChild('plain', { mode: 'echo', file: '' });
  if (kind === 'plain') return startChild('plain', { mode: 'infer', file: model.file });
  return startChild(
    'berth',
    {
      options: {
        host: '127.0.0.1',
        port: 0,
        grpcPort: 0,
        models: process.argv.includes('--serve-both') ? [toServe(ocr), toServe(tiny)] : [toServe(model)],
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
}

/** berth's inference and execution counts so far (v2 statistics), for the requests per run. */
async function runCounts(port: number, name: string): Promise<{ inferences: number; executions: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/v2/models/${name}/stats`);
  const body = (await response.json()) as {
    model_stats: { inference_count: number; execution_count: number }[];
  };
  const stats = body.model_stats[0];
  return { inferences: stats?.inference_count ?? 0, executions: stats?.execution_count ?? 0 };
}

interface Round {
  micros: number;
  mainMicros: number;
  /** berth only: requests that shared one run of the model, on average. */
  requestsPerRun: number | undefined;
  errors: number;
}

async function measure(
  kind: ServerKind,
  server: ChildServer,
  model: BenchModel,
  payload: HttpPayload,
): Promise<Round> {
  const port = server.ports.http ?? 0;
  const before = cpuMicros(server.pid);
  const mainBefore = cpuMicros(server.pid, server.pid);
  const countsBefore = kind === 'berth' ? await runCounts(port, model.name) : undefined;
  const errors = await fire(port, payload, requests);
  const micros = (cpuMicros(server.pid) - before) / requests;
  const mainMicros = (cpuMicros(server.pid, server.pid) - mainBefore) / requests;
  const countsAfter = kind === 'berth' ? await runCounts(port, model.name) : undefined;
  const requestsPerRun =
    countsBefore && countsAfter
      ? (countsAfter.inferences - countsBefore.inferences) /
        (countsAfter.executions - countsBefore.executions)
      : undefined;
  return { micros, mainMicros, requestsPerRun, errors };
}

function describe(kind: ServerKind, round: Round): string {
  const perRun =
    round.requestsPerRun === undefined ? '' : `, ${round.requestsPerRun.toFixed(2)} requests per run`;
  const errors = round.errors > 0 ? `, ${round.errors} errors` : '';
  return `${kind} ${payloadName}: ${round.micros.toFixed(1)} µs CPU/request (main thread ${round.mainMicros.toFixed(1)})${perRun}${errors}`;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024);
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
const kinds = against === undefined ? [which] : [which, against];
const servers: ChildServer[] = [];
try {
  for (const kind of kinds) servers.push(await startServer(kind, model));
  for (const server of servers) await fire(server.ports.http ?? 0, payload, Math.min(requests, 5000));
  const results: Round[][] = kinds.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    for (let index = 0; index < kinds.length; index++) {
      const measured = await measure(kinds[index]!, servers[index]!, model, payload);
      results[index]!.push(measured);
      line.push(describe(kinds[index]!, measured));
    }
    const ratio =
      results.length === 2
        ? `; ${against} / ${which} main thread ${(results[1]![round]!.mainMicros / results[0]![round]!.mainMicros).toFixed(3)}`
        : '';
    console.log(`${line.join('; ')}${ratio}`);
  }
  kinds.forEach((kind, index) => {
    const rows = results[index]!;
    console.log(
      `${kind} ${payloadName}: median ${median(rows.map((row) => row.micros)).toFixed(1)} µs (main thread ${median(rows.map((row) => row.mainMicros)).toFixed(1)}), peak RSS ${peakRssMiB(servers[index]!.pid)} MiB`,
    );
  });
  if (results.length === 2) {
    const ratios = results[0]!.map((row, round) => results[1]![round]!.mainMicros / row.mainMicros);
    console.log(
      `${against} / ${which} main-thread CPU per request @${concurrency}: median ${median(ratios).toFixed(3)} (pairs ${ratios.map((value) => value.toFixed(3)).join(' ')})`,
    );
  }
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}
