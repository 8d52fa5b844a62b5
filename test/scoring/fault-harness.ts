/**
 * Set-up for the fault tests: a scoring script that misbehaves on request (loops forever, fills
 * its heap, fills Buffers, calls process.exit, refuses to start while a marker file exists), and
 * the scoring server run as the process a target runs (`main.js --config`), so its memory is its
 * own and it may exit. Requests go over loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ModelToServe } from '../../src/scoring/engine.js';
import type { ScoringOptions } from '../../src/scoring/options.js';
import { writeModel } from '../fixtures/onnx-builder.js';

export const FAULT_SCRIPT = `
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function init(ctx) {
  if (existsSync(join(ctx.modelDir, 'fail-init'))) throw new Error('init refuses to start: fail-init is present');
}

export async function run(input) {
  if (input.loop) for (;;) {}
  if (input.heap) { const hog = []; for (;;) hog.push(new Array(100000).fill(Math.random())); }
  if (input.buffersMb) {
    // Written, not only reserved, so every page counts in the process's RSS.
    const keep = [];
    for (let i = 0; i < input.buffersMb; i++) keep.push(Buffer.alloc(1 << 20, 1));
    return { allocatedMb: keep.length };
  }
  if (input.exit !== undefined) process.exit(input.exit);
  if (input.sleep) await new Promise((resolve) => setTimeout(resolve, input.sleep));
  return { doubled: input.value * 2 };
}
`;

/** The fault script and its (file-less) model, written into `dir`. */
export function faultScript(dir: string): { script: string; model: ModelToServe; failInitMarker: string } {
  const modelDir = join(dir, 'fault-model');
  writeModel(modelDir, 'README', new TextEncoder().encode('a script-only model'));
  const script = join(dir, 'fault.mjs');
  writeFileSync(script, FAULT_SCRIPT);
  return {
    script,
    failInitMarker: join(modelDir, 'fail-init'),
    model: {
      name: 'fault',
      version: '1',
      framework: 'custom',
      modelDir,
      modelFile: undefined,
      signature: null,
    },
  };
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every stderr line so far (the engine's log lines and a failure line are JSON). */
  stderr: string[];
  /** stdout lines (the listening line first). */
  stdout: string[];
  listening: Record<string, unknown>;
  exited: Promise<number | null>;
  /** Kills the process (SIGKILL when it will not stop) and waits for it. */
  stop(): Promise<void>;
  /** The peak resident memory the kernel has seen for the process, bytes (VmHWM). */
  peakRssBytes(): number;
}

const mainPath = fileURLToPath(new URL('../../src/scoring/main.js', import.meta.url));

/** Starts `main.js` with these options and waits for its listening line. */
export async function startServerProcess(dir: string, options: ScoringOptions): Promise<ServerProcess> {
  const config = join(dir, `options-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(config, JSON.stringify({ port: 0, logLevel: 'silent', ...options }));
  const child = spawn(process.execPath, [mainPath, '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const stdout: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    void exited.then((code) =>
      reject(new Error(`the server exited with ${code} before listening: ${stderr.join('\n')}`)),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === 'listening') resolve(event);
    });
  });
  return {
    url: `http://127.0.0.1:${listening.port as number}`,
    child,
    stderr,
    stdout,
    listening,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
    peakRssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
      return Number(kb) * 1024;
    },
  };
}

/** Polls `check` every 50 ms until it returns a value other than undefined, or fails after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Status {
  live: boolean;
  ready: boolean;
  workers: { configured: number; alive: number };
  replaced: { timeout: number; crash: number; memory: number; exit: number };
  lastFailure: { cause: string; message: string; at: string } | null;
  memory: { limitBytes: number; rssBytes: number };
}

export async function status(url: string, headers: Record<string, string> = {}): Promise<Status> {
  const answer = await fetch(`${url}/berth/status`, { headers });
  if (answer.status !== 200)
    throw new Error(`/berth/status answered ${answer.status}: ${await answer.text()}`);
  return (await answer.json()) as Status;
}
