/**
 * `npm run bench:python`: a scikit-learn model served by berth's Python runtime (score.py) against
 * a hand-written Python http.server around the same model and work (handwritten_server.py), in the
 * same run, at 1, 16 and 64 connections; and berth's overhead at c=1 over the in-process cost of
 * the same work (in_process.py). Both servers run as child processes; autocannon drives them.
 *
 *   BENCH_SECONDS (default 10), BENCH_WARMUP_SECONDS (default 2), BENCH_CONCURRENCY (default 1,16,64),
 *   BERTH_PYTHON (default: the interpreter berth would choose)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runHttpLoad, type LoadResult } from '../serve/http-load.js';
import { round } from '../serve/stats.js';
import { choosePython } from '../../src/core/python-interpreter.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const here = join(repoRoot, 'bench', 'python');
const python = choosePython(undefined).path;
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const levels = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);

/** One request: a single row, as a real-time client sends it. */
const body = JSON.stringify({ data: [[5.9, 2.8, 4.3, 1.3]] });

interface Started {
  port: number;
  stop(): Promise<void>;
}

/** Starts a server process and waits for the line carrying its port. */
function start(
  command: string,
  args: string[],
  portOf: (line: string) => number | undefined,
  env?: NodeJS.ProcessEnv,
): Promise<Started> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], env: env ?? process.env });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not start within 120 s`));
    }, 120_000);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const port = portOf(line);
      if (port === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ port, stop: () => stop(child) });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

async function measure(server: Started): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (const concurrency of levels) {
    results.push(
      await runHttpLoad({
        port: server.port,
        payload: { path: '/score', body: Buffer.from(body), headers: { 'content-type': 'application/json' } },
        concurrency,
        seconds,
        warmupSeconds,
        itemsPerRequest: 1,
      }),
    );
  }
  return results;
}

/** c=1 precisely: sequential requests on one keep-alive connection, each timed with hrtime. */
async function sequentialMedianMs(port: number, count: number): Promise<{ p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { port, path: '/score', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  agent.destroy();
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(count / 2)]!, p99: samples[Math.floor(count * 0.99)]! };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-python-'));
  try {
    const trained = spawnSync(
      python,
      [join(repoRoot, 'test', 'python', 'fixtures', 'train_sklearn.py'), dir],
      {
        encoding: 'utf8',
      },
    );
    if (trained.status !== 0) throw new Error(`training failed: ${trained.stderr}`);
    const modelFile = join(dir, 'model.pkl');
    const inProcess = JSON.parse(
      spawnSync(python, [join(here, 'in_process.py'), modelFile, body, '5000'], { encoding: 'utf8' }).stdout,
    ) as { medianUs: number; meanUs: number };

    const workers = availableParallelism();
    const config = join(dir, 'scoring.json');
    writeFileSync(
      config,
      JSON.stringify({
        port: 0,
        workers,
        maxQueueSize: 1024,
        logLevel: 'error',
        scoringScript: join(here, 'score.py'),
        models: [{ name: 'iris', version: 1, framework: 'sklearn', modelDir: dir, signature: null }],
      }),
    );
    const berth = await start(
      process.execPath,
      [join(repoRoot, 'dist', 'src', 'scoring', 'main.js'), '--config', config],
      (line) => (line.includes('"listening"') ? (JSON.parse(line) as { port: number }).port : undefined),
      { ...process.env, BERTH_PYTHON: python },
    );
    const berthSequential = await sequentialMedianMs(berth.port, 2000);
    const berthResults = await measure(berth).finally(() => berth.stop());
    const handwritten = await start(python, [join(here, 'handwritten_server.py'), modelFile], (line) =>
      line.startsWith('{"http"') ? (JSON.parse(line) as { http: number }).http : undefined,
    );
    const handSequential = await sequentialMedianMs(handwritten.port, 2000);
    const handResults = await measure(handwritten).finally(() => handwritten.stop());

    const rows = levels.map((concurrency, i) => {
      const b = berthResults[i]!;
      const h = handResults[i]!;
      return {
        concurrency,
        'berth req/s': round(b.requestsPerSecond, 0),
        'berth p50 ms': round(b.p50Ms),
        'berth p99 ms': round(b.p99Ms),
        'http.server req/s': round(h.requestsPerSecond, 0),
        'http.server p50 ms': round(h.p50Ms),
        'http.server p99 ms': round(h.p99Ms),
        'berth / http.server': round(b.requestsPerSecond / h.requestsPerSecond),
        errors: `${b.errors} / ${h.errors}`,
      };
    });
    console.log(
      `python ${python}, ${workers} berth Python workers, ${availableParallelism()} cores, ${seconds} s per level`,
    );
    console.table(rows);
    const workMs = inProcess.medianUs / 1000;
    console.log(
      `c=1, 2000 sequential requests on one connection: berth p50 ${round(berthSequential.p50, 3)} ms (p99 ${round(berthSequential.p99, 3)}), ` +
        `http.server p50 ${round(handSequential.p50, 3)} ms (p99 ${round(handSequential.p99, 3)}); ` +
        `the same work in-process ${round(workMs, 3)} ms, so berth adds ${round(berthSequential.p50 - workMs, 3)} ms per request (client included)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
