/**
 * `node dist/bench/serve/gc-per-request.js [--requests 3000]`: the main thread's garbage
 * collections per thousand requests at concurrency 1 (v2 binary, the OCR classifier), for berth's
 * scoring server and the hand-written node:http + workers server, in one run, with their p50 and
 * p99. A full (major) collection every hundred requests lands in the p99; this counts them
 * directly, which a shared machine's noise does not change the way it changes latency. berth runs
 * three ways: as its targets start it (the old-generation floor and the malloc mmap threshold of
 * src/core/heap-headroom.ts), without the floor, and without the threshold.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { scoringProcessEnv, scoringProcessFlags } from '../../src/core/heap-headroom.js';
import { prepareModels, toServe, type BenchModel } from './models.js';
import { buildPayloads, type HttpPayload } from './payloads.js';
import { sendOne } from './sequential-client.js';
import { summarize } from './stats.js';

interface GcCount {
  major: number;
  minor: number;
  incremental: number;
  pauseMs: number;
  longestMs: number;
}

const index = process.argv.indexOf('--requests');
const requests = index >= 0 ? Number(process.argv[index + 1]) : 3000;
const WARM_REQUESTS = 300;

interface Server {
  child: ChildProcess;
  port: number;
  /** Lines the child wrote to stderr that start with `gc-count `. */
  counts: GcCount[];
}

function start(
  script: string,
  args: unknown,
  flags: string[],
  env: Readonly<Record<string, string>>,
): Promise<Server> {
  const counter = fileURLToPath(new URL('./gc-counter.js', import.meta.url));
  const path = fileURLToPath(new URL(`./servers/${script}.js`, import.meta.url));
  const child = spawn(process.execPath, [...flags, '--import', counter, path, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const counts: GcCount[] = [];
  let errors = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    errors += text;
    for (;;) {
      const newline = errors.indexOf('\n');
      if (newline < 0) break;
      const line = errors.slice(0, newline);
      errors = errors.slice(newline + 1);
      if (line.startsWith('gc-count ')) counts.push(JSON.parse(line.slice('gc-count '.length)) as GcCount);
      else process.stderr.write(`${line}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    let text = '';
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({ child, port: (JSON.parse(text.slice(0, newline)) as { http: number }).http, counts });
    });
  });
}

async function measure(name: string, server: Server, payload: HttpPayload): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < WARM_REQUESTS; i++) await sendOne(agent, server.port, payload);
  server.child.kill('SIGUSR1');
  await new Promise((settle) => setTimeout(settle, 100));
  const latencies: number[] = [];
  for (let i = 0; i < requests; i++) {
    const started = performance.now();
    await sendOne(agent, server.port, payload);
    latencies.push(performance.now() - started);
  }
  server.child.kill('SIGUSR2');
  while (server.counts.length === 0) await new Promise((settle) => setTimeout(settle, 20));
  agent.destroy();
  const count = server.counts[0]!;
  const latency = summarize(latencies);
  const perThousand = (value: number): number => Math.round((value / requests) * 1000 * 100) / 100;
  const result = {
    'major GCs / 1000 requests': perThousand(count.major),
    'minor GCs / 1000 requests': perThousand(count.minor),
    'GC pause ms / 1000 requests': perThousand(count.pauseMs),
    'longest GC pause ms': Math.round(count.longestMs * 100) / 100,
    'p50 ms': Math.round(latency.p50 * 1000) / 1000,
    'p99 ms': Math.round(latency.p99 * 1000) / 1000,
  };
  console.log(name, result);
  return result;
}

async function run(
  name: string,
  script: string,
  args: unknown,
  payload: HttpPayload,
  flags: string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<Record<string, number>> {
  const server = await start(script, args, flags, env);
  try {
    return await measure(name, server, payload);
  } finally {
    server.child.kill('SIGTERM');
  }
}

function berthArgs(models: BenchModel[]): unknown {
  return {
    options: {
      host: '127.0.0.1',
      port: 0,
      models: models.map(toServe),
      requestTimeoutMs: 30_000,
      logLevel: 'silent',
      batching: { enabled: true, maxBatchSize: 4 },
    },
  };
}

const { ocr, tiny } = await prepareModels();
const payload = buildPayloads(ocr).v2Binary;
console.log(`main-thread GCs at concurrency 1, ${requests} v2 binary requests (OCR classifier)`);
const handWritten = await run(
  'node:http + workers',
  'workers',
  {
    file: ocr.file,
    input: ocr.input,
    itemShape: ocr.itemShape,
    workers: availableParallelism(),
    maxBatch: 4,
  },
  payload,
);
const berth = await run(
  'berth',
  'berth',
  berthArgs([ocr, tiny]),
  payload,
  scoringProcessFlags(),
  scoringProcessEnv,
);
const berthDefault = await run(
  'berth without the heap flags',
  'berth',
  berthArgs([ocr, tiny]),
  payload,
  [],
  scoringProcessEnv,
);
const berthGlibc = await run(
  'berth without the malloc threshold',
  'berth',
  berthArgs([ocr, tiny]),
  payload,
  scoringProcessFlags(),
);
const overHandWritten = (result: Record<string, number>): number =>
  Math.round((result['p99 ms']! - handWritten['p99 ms']!) * 1000) / 1000;
console.log({
  'berth - hand-written p99 ms': overHandWritten(berth),
  'berth without the heap flags - hand-written p99 ms': overHandWritten(berthDefault),
  'berth without the malloc threshold - hand-written p99 ms': overHandWritten(berthGlibc),
  'berth / hand-written GC pause per request':
    Math.round(
      (berth['GC pause ms / 1000 requests']! / Math.max(0.001, handWritten['GC pause ms / 1000 requests']!)) *
        100,
    ) / 100,
});
