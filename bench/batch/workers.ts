/** Cluster worker processes for the bench, started as `berth worker` would start them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/batch/cluster/worker-process.js', import.meta.url));

export interface BenchWorker {
  child: ChildProcess;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export async function startWorker(options: {
  redisUrl: string;
  prefix: string;
  name: string;
  cacheDir: string;
  lockDurationMs: number;
  stalledIntervalMs: number;
}): Promise<BenchWorker> {
  const json = JSON.stringify({
    redisUrl: options.redisUrl,
    queuePrefix: options.prefix,
    workerName: options.name,
    cacheDir: options.cacheDir,
    concurrency: 1,
    lockDurationMs: options.lockDurationMs,
    stalledIntervalMs: options.stalledIntervalMs,
  });
  // Two workers share this machine: each gets half the cores for ONNX Runtime, as `berth worker
  // --intra-op-threads` would set it.
  const threads = String(Math.max(1, Math.floor(availableParallelism() / 2)));
  const child = spawn(process.execPath, [entry, json], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BERTH_ORT_INTRA_OP_THREADS: threads },
  });
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      seen += text;
      if (seen.includes(' connected')) resolve();
    });
    child.once('exit', () => reject(new Error(`worker ${options.name} exited before connecting: ${seen}`)));
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
