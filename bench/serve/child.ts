/**
 * Starts a benchmark server in a child process (so its CPU is not the load generator's) and
 * waits for the one JSON line that gives its ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildServer {
  ports: { http?: number; grpc?: number };
  /** The child's process id, for reading its CPU time from /proc. */
  pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/** `nodeFlags`: Node options for the child, as berth gives its own scoring processes. */
export function startChild(
  script: string,
  args: unknown,
  nodeFlags: string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<ChildServer> {
  const path = fileURLToPath(new URL(`./servers/${script}.js`, import.meta.url));
  // BERTH_BENCH_CHILD_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the servers;
  // BERTH_BENCH_CHILD_OUTPUT=1 passes what they print after the ready line (e.g. --trace-gc) to stderr.
  const flags = process.env.BERTH_BENCH_CHILD_FLAGS?.split(' ').filter((flag) => flag !== '') ?? [];
  const child = spawn(process.execPath, [...nodeFlags, ...flags, path, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} server did not start within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${script} server exited with code ${code} before it was ready`));
    };
    child.once('exit', onExit);
    const passOutput = process.env.BERTH_BENCH_CHILD_OUTPUT === '1';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      // Lines before the ready line (e.g. --trace-gc's) are passed on or dropped.
      let newline = buffered.indexOf('\n');
      while (newline >= 0 && !buffered.startsWith('{')) {
        if (passOutput) process.stderr.write(buffered.slice(0, newline + 1));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
      if (newline < 0) return;
      clearTimeout(timer);
      child.removeListener('exit', onExit);
      child.stdout.removeAllListeners('data');
      if (passOutput) {
        process.stderr.write(buffered.slice(newline + 1));
        child.stdout.pipe(process.stderr);
      } else child.stdout.resume();
      try {
        resolve({
          ports: JSON.parse(buffered.slice(0, newline)) as ChildServer['ports'],
          pid: child.pid ?? 0,
          stop: () => stop(child),
        });
      } catch (error) {
        child.kill('SIGKILL');
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
