/**
 * One child process running the scoring server entry (`main.js --config <file>`). It reads the
 * `{"event":"listening","port":…}` line for the dynamic port, and, when the process dies before
 * that line, turns the server's `{"event":"failed",…}` stderr line (e.g. the scoring script's
 * init error) into a BerthError with that code and message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BerthError, isErrorCode } from '../../core/errors.js';

export interface ProcessOptions {
  nodePath: string;
  /** Node options placed before the entry (a scoring server's: core/heap-headroom.ts). */
  nodeFlags?: readonly string[];
  entry: string;
  configPath: string;
  cwd: string;
  env: Record<string, string | undefined>;
  onLine(stream: 'stdout' | 'stderr', text: string): void;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const keptStderrLines = 20;

export class ReplicaProcess {
  readonly pid: number | undefined;
  /** Resolves with the HTTP port; rejects when the process ends (or cannot start) before listening. */
  readonly listening: Promise<number>;
  /** Resolves once the process has ended and its output is read to the end. */
  readonly exited: Promise<ProcessExit>;
  exit: ProcessExit | undefined;
  private readonly child: ChildProcess;
  private readonly stderrTail: string[] = [];
  private failure: { code: string; message: string } | undefined;

  constructor(options: ProcessOptions) {
    const args = [...(options.nodeFlags ?? []), options.entry, '--config', options.configPath];
    this.child = spawn(options.nodePath, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    let onListening: (port: number) => void = () => undefined;
    let onEarlyEnd: (error: BerthError) => void = () => undefined;
    this.listening = new Promise<number>((resolve, reject) => {
      onListening = resolve;
      onEarlyEnd = reject;
    });
    // Nobody may be waiting (a restart that is stopped first): never an unhandled rejection.
    this.listening.catch(() => undefined);

    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      const port = listeningPort(text);
      if (port !== undefined) onListening(port);
      options.onLine('stdout', text);
    });
    createInterface({ input: this.child.stderr! }).on('line', (text) => {
      this.failure ??= failureOf(text);
      this.stderrTail.push(text);
      if (this.stderrTail.length > keptStderrLines) this.stderrTail.shift();
      options.onLine('stderr', text);
    });
    let spawnError: Error | undefined;
    this.child.on('error', (error) => (spawnError = error));
    this.exited = new Promise<ProcessExit>((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        onEarlyEnd(this.startError(spawnError));
        resolve(this.exit);
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** How the process ended, on one line: the signal or exit code, and the server's own failure line. */
  summarizeExit(): string {
    const how = this.exit?.signal
      ? `was killed by ${this.exit.signal}`
      : `exited with code ${this.exit?.code ?? '?'}`;
    return this.failure === undefined ? how : `${how}: ${this.failure.message}`;
  }

  /** Why the process ended, in words: the server's own failure line, else the last stderr lines. */
  describeExit(): string {
    const how = this.summarizeExit();
    if (this.failure !== undefined) return how;
    const tail = this.stderrTail.slice(-5).join('\n');
    return tail === '' ? how : `${how}; its last output:\n${tail}`;
  }

  private startError(spawnError: Error | undefined): BerthError {
    if (spawnError !== undefined) {
      return new BerthError('INTERNAL', `cannot start the scoring server (${spawnError.message})`, {
        cause: spawnError,
      });
    }
    if (this.failure !== undefined) {
      return new BerthError(
        isErrorCode(this.failure.code) ? this.failure.code : 'RUN_FAILED',
        this.failure.message,
      );
    }
    return new BerthError('RUN_FAILED', `the scoring server ${this.describeExit()}`);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }
}

function parseEvent(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{"event"')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function listeningPort(text: string): number | undefined {
  const event = parseEvent(text);
  return event?.event === 'listening' && typeof event.port === 'number' ? event.port : undefined;
}

function failureOf(text: string): { code: string; message: string } | undefined {
  const event = parseEvent(text);
  if (event?.event !== 'failed' || typeof event.message !== 'string') return undefined;
  return { code: typeof event.code === 'string' ? event.code : 'RUN_FAILED', message: event.message };
}
