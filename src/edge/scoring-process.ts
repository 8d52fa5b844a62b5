/**
 * The scoring server every target runs, started from a bundle in the cache:
 * `node <bundle>/server/main.js --config <run.json>` on loopback with a port of its own choosing.
 * The run options are the bundle's `scoring.json` with its paths made absolute; the deployment's
 * environment variables (`environment.json`) are added to the device's own. start() resolves
 * with the port once the server prints its `listening` line, and rejects with the server's own
 * error when it fails first (a scoring script whose init throws, a model that does not load).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { BerthError, type ErrorCode } from '../core/errors.js';
import { scoringProcessEnv, scoringProcessFlags } from '../core/heap-headroom.js';

export interface ScoringProcessOptions {
  bundleDir: string;
  dataDir: string;
  startTimeoutMs: number;
  log: (line: string) => void;
}

type Options = Record<string, unknown> & { models?: Record<string, unknown>[] };

async function runOptions(bundleDir: string, dataDir: string): Promise<string> {
  const options = JSON.parse(await readFile(join(bundleDir, 'scoring.json'), 'utf8')) as Options;
  const inBundle = (path: unknown): unknown =>
    typeof path === 'string' && !isAbsolute(path) ? join(bundleDir, path) : path;
  const run: Options = {
    ...options,
    host: '127.0.0.1',
    port: 0,
    models: (options.models ?? []).map((model) => ({
      ...model,
      modelDir: inBundle(model.modelDir),
      modelFile: inBundle(model.modelFile),
    })),
    scoringScript: inBundle(options.scoringScript),
  };
  if (typeof options.dataCollection === 'object' && options.dataCollection !== null)
    run.dataCollection = { ...options.dataCollection, dir: dataDir };
  const path = join(dataDir, 'run.json');
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, `${JSON.stringify(run, null, 2)}\n`);
  return path;
}

export class ScoringProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  port = 0;
  /** Called once if the server exits on its own after it was listening. */
  onExit: (reason: string) => void = () => undefined;

  constructor(readonly options: ScoringProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<number> {
    const { bundleDir, startTimeoutMs, log } = this.options;
    const config = await runOptions(bundleDir, this.options.dataDir);
    const environment = JSON.parse(await readFile(join(bundleDir, 'environment.json'), 'utf8')) as Record<
      string,
      string
    >;
    const server = join(bundleDir, 'server', 'main.js');
    const child = spawn(process.execPath, [...scoringProcessFlags(), server, '--config', config], {
      cwd: bundleDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...scoringProcessEnv, ...environment },
    });
    this.child = child;
    this.exited = new Promise((settle) => child.once('exit', () => settle()));
    let failure: { code: ErrorCode; message: string } | undefined;
    // What a server that dies before it can report says last (node refusing an option, a crash).
    let lastWords: string | undefined;
    let listening = false;
    const port = new Promise<number>((resolvePort, rejectPort) => {
      const timer = setTimeout(() => {
        rejectPort(
          new BerthError('RUN_FAILED', `the scoring server did not listen within ${startTimeoutMs} ms`),
        );
        child.kill('SIGKILL');
      }, startTimeoutMs);
      createInterface({ input: child.stdout }).on('line', (line) => {
        log(line);
        if (listening) return;
        try {
          const event = JSON.parse(line) as { event?: string; port?: number };
          if (event.event === 'listening' && typeof event.port === 'number') {
            listening = true;
            clearTimeout(timer);
            resolvePort(event.port);
          }
        } catch {
          // A log line, not an event.
        }
      });
      createInterface({ input: child.stderr }).on('line', (line) => {
        log(line);
        try {
          const event = JSON.parse(line) as { event?: string; code?: ErrorCode; message?: string };
          if (event.event === 'failed' && event.message !== undefined)
            failure = { code: event.code ?? 'RUN_FAILED', message: event.message };
        } catch {
          if (line.trim() !== '') lastWords = line.trim().slice(0, 300);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const reason =
          failure?.message ??
          `the scoring server exited (${signal ?? `code ${code}`})${lastWords === undefined ? '' : `: ${lastWords}`}`;
        if (!listening) rejectPort(new BerthError(failure?.code ?? 'RUN_FAILED', reason));
        else if (this.child === child) this.onExit(reason);
      });
    });
    this.port = await port;
    return this.port;
  }

  /** SIGTERM (the server drains), SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
