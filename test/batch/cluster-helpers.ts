/**
 * Shared parts of the cluster engine tests: a unique key prefix per test (and its cleanup), worker
 * processes started the way an operator starts them, and tasks over small text files scored by a
 * script that can be slowed down so a test can kill a worker in the middle of a mini-batch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { parseClusterAddress } from '../../src/batch/cluster/config.js';
import { closeRedis, connectNow, createRedis, deleteKeysUnder } from '../../src/batch/cluster/connection.js';
import type { BatchProgramSpec, MiniBatchOutcome, MiniBatchTask } from '../../src/batch/engine.js';
import { hashFile } from '../../src/workspace/hashing.js';

export const redisUrl = process.env.BERTH_TEST_REDIS ?? 'redis://127.0.0.1:6379';
export const endpoint = parseClusterAddress(redisUrl);
const entry = fileURLToPath(new URL('../../../bin/berth.js', import.meta.url));

export function uniquePrefix(): string {
  return `berth-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export async function withRedis<T>(body: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = createRedis(endpoint, 'berth-test-admin', 'plain');
  await connectNow(redis);
  try {
    return await body(redis);
  } finally {
    await closeRedis(redis);
  }
}

/** Deletes every key under the prefix. */
export async function removePrefix(prefix: string): Promise<void> {
  await withRedis((redis) => deleteKeysUnder(redis, prefix));
}

/** Drops every connection whose client name starts with the prefix (the engine's and the workers'). */
export async function dropConnections(prefix: string): Promise<number> {
  return withRedis(async (redis) => {
    const list = String(await redis.client('LIST'));
    const ids = list
      .split('\n')
      .filter((line) => / name=(\S+)/.exec(line)?.[1]?.startsWith(`${prefix}:`))
      .map((line) => /\bid=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    for (const id of ids) await redis.client('KILL', 'ID', id).catch(() => undefined);
    return ids.length;
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * A `berth worker` process: on the test's Redis with its unique prefix (`--cluster`), or joining a
 * named cluster target of a workspace (`--target`, which brings the Redis and the prefix).
 */
export async function startWorkerProcess(options: {
  prefix: string;
  name: string;
  cacheDir: string;
  concurrency?: number;
  gpus?: string;
  target?: { name: string; workspace: string };
}): Promise<WorkerProcess> {
  const joining =
    options.target === undefined
      ? ['--cluster', redisUrl, '--queue-prefix', options.prefix]
      : ['--target', options.target.name];
  const args = [
    entry,
    'worker',
    ...joining,
    '--name',
    options.name,
    '--cache-dir',
    options.cacheDir,
    '--concurrency',
    String(options.concurrency ?? 1),
    '--lock-duration-ms',
    '2000',
    '--stalled-interval-ms',
    '1000',
    ...(options.gpus ? ['--gpus', options.gpus] : []),
  ];
  const env =
    options.target === undefined
      ? process.env
      : { ...process.env, BERTH_WORKSPACE: options.target.workspace };
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes(`worker ${options.name} connected`)) {
        clearInterval(timer);
        resolve();
      }
      if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`worker ${options.name} exited: ${output}`));
      }
    }, 20);
  });
  const pid = child.pid ?? -1;
  return {
    child,
    pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A scoring script that returns, per input file, its text and the worker that scored it, after
 * `delayMs` per mini-batch; its init checks the model file is there.
 */
export async function writeScript(dir: string, delayMs: number): Promise<string> {
  const path = join(dir, 'score.mjs');
  await mkdir(dir, { recursive: true });
  await writeFile(
    path,
    `import { readFileSync } from 'node:fs';
let modelBytes = -1;
export function init(ctx) { modelBytes = ctx.modelDir === undefined ? -1 : readFileSync(ctx.modelFile ?? ctx.modelDir + '/model.bin').length; }
export async function run(paths) {
  await new Promise((resolve) => setTimeout(resolve, ${delayMs}));
  return paths.map((path) => ({ text: readFileSync(path, 'utf8'), pid: process.pid, modelBytes }));
}
`,
  );
  return path;
}

/** `count` small text files, and a model file; returns the file paths and the program spec. */
export async function writeInputs(
  dir: string,
  count: number,
  script: string,
): Promise<{ files: string[]; program: BatchProgramSpec }> {
  const inputs = join(dir, 'inputs');
  const modelDir = join(dir, 'model');
  await mkdir(inputs, { recursive: true });
  await mkdir(modelDir, { recursive: true });
  const files: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const path = join(inputs, `item-${String(index).padStart(4, '0')}.txt`);
    await writeFile(path, `item ${index}`);
    files.push(path);
  }
  const modelPath = join(modelDir, 'model.bin');
  await writeFile(modelPath, randomBytes(3 * 1024 * 1024 + 17));
  const { sha256, size } = await hashFile(modelPath);
  void size;
  return {
    files,
    program: {
      scoringScript: script,
      model: {
        name: 'm',
        version: 1,
        sha256,
        kind: 'file',
        fileName: 'model.bin',
        modelFile: undefined,
        local: { modelDir, modelFile: undefined },
      },
      environmentVariables: {},
      loggingLevel: 'info',
    },
  };
}

export function tasksFor(
  jobId: string,
  files: string[],
  perBatch: number,
  program: BatchProgramSpec,
): MiniBatchTask[] {
  const tasks: MiniBatchTask[] = [];
  for (let start = 0; start < files.length; start += perBatch) {
    tasks.push({
      jobId,
      attempt: 0,
      plan: { index: tasks.length, kind: 'files', paths: files.slice(start, start + perBatch) },
      program,
      timeoutMs: 30_000,
    });
  }
  return tasks;
}

/** Every input's key, with how many succeeded outcomes carry it. */
export function countKeys(outcomes: MiniBatchOutcome[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.status !== 'succeeded') continue;
    for (const row of outcome.rows) counts.set(row.key, (counts.get(row.key) ?? 0) + 1);
  }
  return counts;
}
