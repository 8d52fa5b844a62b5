/**
 * `--gpus 0,1`: one process per GPU, each seeing only its device through CUDA_VISIBLE_DEVICES
 * (ONNX Runtime's CUDA provider then uses "device 0" of its process, whichever GPU that is). The
 * `--concurrency` slots are dealt out over the GPUs (concurrency 2, gpus 0,1: one slot each;
 * concurrency 3: two on GPU 0, one on GPU 1), so the machine never runs more than it was told to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../core/errors.js';

const entry = fileURLToPath(new URL('./worker-process.js', import.meta.url));

export function dealSlots(concurrency: number, gpus: readonly string[]): { gpu: string; slots: number }[] {
  if (gpus.length === 0) throw new BerthError('BAD_INPUT', '--gpus names no device');
  if (concurrency < gpus.length) {
    throw new BerthError(
      'BAD_INPUT',
      `--concurrency ${concurrency} is less than the ${gpus.length} GPUs given: each GPU needs at least one slot`,
    );
  }
  return gpus.map((gpu, index) => ({
    gpu,
    slots: Math.floor(concurrency / gpus.length) + (index < concurrency % gpus.length ? 1 : 0),
  }));
}

export interface ForkedWorkerOptions {
  redisUrl: string;
  workerName: string;
  cacheDir: string;
  queuePrefix?: string;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

async function startOne(options: ForkedWorkerOptions, gpu: string, slots: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      entry,
      JSON.stringify({ ...options, concurrency: slots, workerName: `${options.workerName}-gpu${gpu}` }),
    ],
    { env: { ...process.env, CUDA_VISIBLE_DEVICES: gpu }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stdout = child.stdout;
  if (stdout === null) throw new BerthError('INTERNAL', 'worker process has no stdout');
  stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (text: string): void => {
      process.stdout.write(text);
      seen += text;
      if (seen.includes(' connected')) resolve();
    };
    stdout.on('data', onData);
    child.once('exit', (code) =>
      reject(new BerthError('WORKER_CRASHED', `worker process for GPU ${gpu} exited with ${code}`)),
    );
  });
  return child;
}

/** Starts one worker process per GPU; resolves once all are connected. */
export async function startGpuProcesses(
  options: ForkedWorkerOptions,
  concurrency: number,
  gpus: readonly string[],
): Promise<{ close(options?: { force?: boolean }): Promise<void> }> {
  const children: ChildProcess[] = [];
  const close = async (force = false): Promise<void> => {
    for (const child of children) if (child.exitCode === null) child.kill(force ? 'SIGKILL' : 'SIGTERM');
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  };
  try {
    for (const { gpu, slots } of dealSlots(concurrency, gpus))
      children.push(await startOne(options, gpu, slots));
  } catch (error) {
    await close(true);
    throw error;
  }
  return { close: (closeOptions = {}) => close(closeOptions.force === true) };
}
