/**
 * The trial scoring server a profile measures: the scoring server's own process
 * (`scoring/main.js --config`, as the local target starts it) on a free port of this machine, so
 * its memory and CPU are read apart from the load generator's (Linux /proc: VmRSS, VmHWM, and
 * utime + stime). Python scoring scripts run in child processes that are not counted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { scoringProcessEnv, scoringProcessFlags } from '../../core/heap-headroom.js';
import { BerthError } from '../../core/errors.js';
import type { ModelToServe } from '../../scoring/engine.js';
import type { ScoringOptions } from '../../scoring/options.js';
import type { ResourceSample, TrialOptions, TrialReplica, TrialSite } from './trial.js';

const scoringMain = fileURLToPath(new URL('../../scoring/main.js', import.meta.url));
/** Linux's USER_HZ: /proc times are in these ticks on every mainstream kernel. */
const TICKS_PER_SECOND = 100;
const START_TIMEOUT_MS = 120_000;

export interface TrialServer extends TrialReplica {
  pid: number;
}

async function readProc(pid: number): Promise<ResourceSample | undefined> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const sample = {
      memoryBytes: kib('VmRSS'),
      peakMemoryBytes: kib('VmHWM'),
      cpuSeconds: cpuTicks / TICKS_PER_SECOND,
    };
    return Object.values(sample).every(Number.isFinite) ? sample : undefined;
  } catch {
    return undefined;
  }
}

export async function startTrialServer(model: ModelToServe, trial: TrialOptions): Promise<TrialServer> {
  const { maxConcurrency, maxBatchSize } = trial;
  const dir = await mkdtemp(join(tmpdir(), 'berth-profile-'));
  const options: ScoringOptions = {
    port: 0,
    host: '127.0.0.1',
    models: [model],
    logLevel: 'silent',
    // Queue every request the load can hold at once, so a step measures waiting, not 429s.
    maxQueueSize: Math.max(16, maxConcurrency * 2),
    ...(maxBatchSize > 1 ? { batching: { enabled: true, maxBatchSize, maxQueueDelayMs: 2 } } : {}),
  };
  const config = join(dir, 'options.json');
  await writeFile(config, JSON.stringify(options), { mode: 0o600 });
  const child = spawn(process.execPath, [...scoringProcessFlags(), scoringMain, '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...scoringProcessEnv },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new BerthError('UPSTREAM_TIMEOUT', `the trial server did not start within ${START_TIMEOUT_MS}ms`),
          ),
        START_TIMEOUT_MS,
      );
      void exited.then(([code]) => {
        clearTimeout(timer);
        reject(new BerthError('RUN_FAILED', `the trial server exited with code ${code}: ${stderr.trim()}`));
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.includes('"listening"')) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
    const pid = child.pid ?? -1;
    return { url: `http://127.0.0.1:${port}`, headers: {}, pid, sample: () => readProc(pid), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Trial replicas as child processes of this one. */
export function localSite(model: ModelToServe, target = 'local'): TrialSite {
  return {
    target,
    cores: availableParallelism(),
    memorySource: 'peak RSS of the server process',
    start: (options) => startTrialServer(model, options),
    close: async () => undefined,
  };
}
