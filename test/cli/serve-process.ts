/**
 * `berth serve` as a user starts it: the real executable in its own process, ready once it prints
 * its `listening` line, stopped with SIGTERM (a clean drain exits 0).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { berthBin } from '../helpers/cli.js';

export interface ServeProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  grpcPort: number | null;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function startServe(
  args: string[],
  options: { workspace: string; cwd?: string },
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [berthBin, 'serve', ...args], {
    cwd: options.cwd,
    env: { ...process.env, BERTH_WORKSPACE: options.workspace },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const [code] = await exited;
    return code;
  };
  try {
    const listening = await new Promise<{ port: number; grpcPort: number | null }>((resolve, reject) => {
      void exited.then(([code]) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('"listening"'))
          resolve(JSON.parse(line) as { port: number; grpcPort: number | null });
      });
    });
    return {
      url: `http://127.0.0.1:${listening.port}`,
      grpcPort: listening.grpcPort,
      stderr: () => stderr,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
