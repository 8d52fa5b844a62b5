/**
 * `npm run bench:python`: a scikit-learn model served by berth's Python runtime (score.py) against
 * a hand-written Python http.server around the same model and work (handwritten_server.py), in the
 * same run, at 1, 16 and 64 connections; and berth's overhead at c=1 over the in-process cost of
 * the same work (in_process.py). The servers run as child processes, all started first; each round
 * measures every level on each server in turn, so a ratio compares figures taken moments apart on a
 * machine whose load changes. autocannon drives them.
 *
 *   BENCH_SECONDS (default 10), BENCH_WARMUP_SECONDS (default 2), BENCH_CONCURRENCY (default 1,16,64),
 *   BENCH_ROUNDS (default 3), BENCH_WORKERS (default: the number of cores),
 *   BENCH_BASELINE_SERVER (another build's dist/src/scoring/main.js, run as "baseline berth" beside this one),
 *   BERTH_PYTHON (default: the interpreter berth would choose)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
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
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const workers = Number(process.env.BENCH_WORKERS ?? availableParallelism());
const berthServer = join(repoRoot, 'dist', 'src', 'scoring', 'main.js');
/** Another build's scoring server (its dist/src/scoring/main.js), measured beside this one. */
const baselineServer = process.env.BENCH_BASELINE_SERVER || undefined;

/** One request: a single row, as a real-time client sends it. */
const body = JSON.stringify({ data: [[5.9, 2.8, 4.3, 1.3]] });

interface Started {
  port: number;
  pid: number;
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
      resolve({ port, pid: child.pid!, stop: () => stop(child) });
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

/** A load's figures, with the CPU the server's processes spent per answered request. */
type Measured = LoadResult & { cpuMsPerRequest: number };

async function measure(server: Started, concurrency: number): Promise<Measured> {
  const load = (duration: number): Promise<LoadResult> =>
    runHttpLoad({
      port: server.port,
      payload: { path: '/score', body: Buffer.from(body), headers: { 'content-type': 'application/json' } },
      concurrency,
      seconds: duration,
      warmupSeconds: 0,
      itemsPerRequest: 1,
    });
  if (warmupSeconds > 0) await load(warmupSeconds);
  const cpuBefore = treeCpuSeconds(server.pid);
  const result = await load(seconds);
  const cpu = treeCpuSeconds(server.pid) - cpuBefore;
  return { ...result, cpuMsPerRequest: (cpu * 1000) / Math.max(1, result.requestsPerSecond * seconds) };
}

/**
 * CPU seconds (user + system) used so far by a process and its descendants (berth's Python workers),
 * from /proc. CPU per request hardly moves with the machine's load, unlike requests per second.
 */
function treeCpuSeconds(root: number): number {
  const stats = new Map<number, { parent: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (which may hold spaces), from field 3 (state) on.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended while it was read.
    }
  }
  const tree = new Set([root]);
  for (let grown = true; grown;) {
    grown = false;
    for (const [pid, stat] of stats) {
      if (!tree.has(pid) && tree.has(stat.parent)) {
        tree.add(pid);
        grown = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of tree) ticks += stats.get(pid)?.ticks ?? 0;
  return ticks / CLOCK_TICKS;
}

/** getconf CLK_TCK: 100 on Linux. */
const CLOCK_TICKS = 100;

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

interface Server {
  label: string;
  started: Started;
  loads: Measured[][];
  sequential: { p50: number; p99: number }[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const loadAverage = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-python-'));
  const servers: Server[] = [];
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

    /** berth serving score.py; with batching, /score bodies go to its run_batch() together. */
    const startBerth = (batching: boolean, serverScript = berthServer): Promise<Started> => {
      const config = join(dir, `scoring-${batching ? 'batching' : 'single'}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          port: 0,
          workers,
          maxQueueSize: 1024,
          logLevel: 'error',
          ...(batching ? { batching: { enabled: true, maxBatchSize: 32 } } : {}),
          scoringScript: join(here, 'score.py'),
          models: [{ name: 'iris', version: 1, framework: 'sklearn', modelDir: dir, signature: null }],
        }),
      );
      return start(
        process.execPath,
        [serverScript, '--config', config],
        (line) => (line.includes('"listening"') ? (JSON.parse(line) as { port: number }).port : undefined),
        { ...process.env, BERTH_PYTHON: python },
      );
    };
    const add = (label: string, started: Started): void => {
      servers.push({ label, started, loads: levels.map(() => []), sequential: [] });
    };
    add('berth', await startBerth(false));
    add('berth run_batch', await startBerth(true));
    if (baselineServer !== undefined) add('baseline berth', await startBerth(false, baselineServer));
    add(
      'http.server',
      await start(python, [join(here, 'handwritten_server.py'), modelFile], (line) =>
        line.startsWith('{"http"') ? (JSON.parse(line) as { http: number }).http : undefined,
      ),
    );

    const loadBefore = loadAverage();
    // Rounds interleave the servers, so that each ratio compares measurements minutes apart at most.
    for (let round = 0; round < rounds; round++) {
      for (const server of servers)
        server.sequential.push(await sequentialMedianMs(server.started.port, 2000));
      for (const [at, concurrency] of levels.entries()) {
        for (const server of servers) {
          server.loads[at]!.push(await measure(server.started, concurrency));
        }
      }
    }
    const loadAfter = loadAverage();

    const [berth, batched] = servers as [Server, Server];
    const hand = servers.at(-1)!;
    const baseline = baselineServer === undefined ? undefined : servers[2]!;
    const ratio = (server: Server, at: number): number[] =>
      server.loads[at]!.map(
        (one, round) => one.requestsPerSecond / hand.loads[at]![round]!.requestsPerSecond,
      );
    const rows = levels.map((concurrency, at) => {
      const rps = (server: Server): number => median(server.loads[at]!.map((one) => one.requestsPerSecond));
      const latency = (server: Server): string =>
        `${round2(median(server.loads[at]!.map((one) => one.p50Ms)))} / ${round2(median(server.loads[at]!.map((one) => one.p99Ms)))}`;
      const errors = servers.map((server) => server.loads[at]!.reduce((sum, one) => sum + one.errors, 0));
      return {
        concurrency,
        'berth req/s': round(rps(berth), 0),
        'berth p50/p99 ms': latency(berth),
        'run_batch req/s': round(rps(batched), 0),
        'run_batch p50/p99 ms': latency(batched),
        'http.server req/s': round(rps(hand), 0),
        'http.server p50/p99 ms': latency(hand),
        'berth / http.server': ratio(berth, at)
          .map((value) => round2(value))
          .join(' '),
        'run_batch / http.server': ratio(batched, at)
          .map((value) => round2(value))
          .join(' '),
        ...(baseline === undefined
          ? {}
          : {
              'baseline req/s': round(rps(baseline), 0),
              'berth / baseline': berth.loads[at]!.map((one, round) =>
                round2(one.requestsPerSecond / baseline.loads[at]![round]!.requestsPerSecond),
              ).join(' '),
            }),
        errors: errors.join(' / '),
      };
    });
    console.log(
      `python ${python}, ${workers} berth Python workers, ${availableParallelism()} cores, ${rounds} rounds of ${seconds} s per level and server; ` +
        `load average ${loadBefore} before, ${loadAfter} after`,
    );
    console.log(
      'req/s and latencies: the median of the rounds; ratios: one per round, each within its round',
    );
    console.table(rows);
    console.log(
      "CPU ms per answered request, all of each server's processes (berth: Node.js and its Python workers), median of the rounds; ratio to http.server's:",
    );
    console.table(
      levels.map((concurrency, at) => {
        const cpu = (server: Server): number => median(server.loads[at]!.map((one) => one.cpuMsPerRequest));
        return Object.fromEntries([
          ['concurrency', concurrency],
          ...servers.map((server) => [server.label, round(cpu(server), 3)]),
          ...servers
            .slice(0, -1)
            .map((server) => [`${server.label} / http.server`, round2(cpu(server) / cpu(hand))]),
        ]);
      }),
    );
    const workMs = inProcess.medianUs / 1000;
    const p50 = (server: Server): number => median(server.sequential.map((one) => one.p50));
    console.log(
      `c=1, 2000 sequential requests on one connection (median of the rounds' p50): berth ${round(p50(berth), 3)} ms, ` +
        `berth run_batch ${round(p50(batched), 3)} ms, ${baseline === undefined ? '' : `baseline berth ${round(p50(baseline), 3)} ms, `}http.server ${round(p50(hand), 3)} ms; ` +
        `the same work in-process ${round(workMs, 3)} ms, so berth adds ${round(p50(berth) - workMs, 3)} ms per request (client included)`,
    );
  } finally {
    await Promise.all(servers.map((server) => server.started.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function round2(value: number): number {
  return round(value, 2);
}

await main();
