/**
 * One instance process as the host sees it: spawned with an IPC channel, `loaded` once its handler
 * module is imported, then one invocation at a time (as Lambda runs them). States: starting →
 * idle ⇄ busy → stopped. An invocation past its deadline ends the instance, as a platform ends a
 * timed-out one; so does an exit, which fails the invocation it held.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../../../core/errors.js';
import type { LogLine } from '../../target.js';
import type { FunctionKind } from '../kinds.js';
import { instanceMessageSchema, type HostMessage, type HttpAnswer, type HttpInvocation } from './messages.js';

export type InstanceState = 'starting' | 'idle' | 'busy' | 'stopped';

export interface InstanceOptions {
  id: string;
  packageDir: string;
  kind: FunctionKind;
  nodePath: string;
  env: Record<string, string | undefined>;
  startTimeoutMs: number;
  log: (line: LogLine) => void;
  /** Called once when the process is gone. */
  onExit: (instance: FunctionInstance) => void;
}

const mainFile = fileURLToPath(new URL('./instance-main.js', import.meta.url));

export class FunctionInstance {
  state: InstanceState = 'starting';
  /** When the last invocation ended (or the instance loaded). */
  lastUsed = Date.now();
  readonly started = Date.now();
  readonly loaded: Promise<void>;
  private readonly child: ChildProcess;
  private pending:
    | {
        id: number;
        resolve: (answer: HttpAnswer) => void;
        reject: (error: Error) => void;
        timer: NodeJS.Timeout;
      }
    | undefined;
  private nextId = 1;
  private lastError = '';

  constructor(readonly options: InstanceOptions) {
    this.child = spawn(options.nodePath, [mainFile, options.packageDir, options.kind], {
      cwd: options.packageDir,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.child[stream]! }).on('line', (text) => {
        if (stream === 'stderr') this.lastError = text;
        options.log({ replica: options.id, time: new Date().toISOString(), stream, text });
      });
    }
    this.loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new BerthError('RUN_FAILED', `instance ${options.id} did not load in ${options.startTimeoutMs} ms`),
        );
        this.stop();
      }, options.startTimeoutMs);
      this.child.on('message', (raw) => {
        const parsed = instanceMessageSchema.safeParse(raw);
        if (!parsed.success) return;
        const message = parsed.data;
        if (message.type === 'loaded') {
          clearTimeout(timer);
          this.state = 'idle';
          this.lastUsed = Date.now();
          resolve();
          return;
        }
        const pending = this.pending;
        if (pending === undefined || pending.id !== message.id) return;
        this.settle();
        if (message.type === 'answer') pending.resolve(message.answer);
        else pending.reject(new BerthError('INTERNAL', `the handler threw: ${message.message}`));
      });
      this.child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const why = `instance ${options.id} exited (${signal ?? `code ${code}`})${this.lastError ? `: ${this.lastError}` : ''}`;
        reject(new BerthError('RUN_FAILED', why));
        const pending = this.pending;
        this.pending = undefined;
        if (pending !== undefined) {
          clearTimeout(pending.timer);
          pending.reject(new BerthError('WORKER_CRASHED', why));
        }
        this.state = 'stopped';
        options.onExit(this);
      });
    });
    // A start that fails is reported by whoever awaits `loaded`.
    this.loaded.catch(() => undefined);
  }

  private settle(): void {
    if (this.pending !== undefined) clearTimeout(this.pending.timer);
    this.pending = undefined;
    if (this.state === 'busy') this.state = 'idle';
    this.lastUsed = Date.now();
  }

  /** One invocation; the instance must be idle. */
  invoke(request: HttpInvocation, timeoutMs: number): Promise<HttpAnswer> {
    if (this.state !== 'idle')
      return Promise.reject(new BerthError('INTERNAL', `instance ${this.options.id} is ${this.state}`));
    this.state = 'busy';
    const id = this.nextId++;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(
          new BerthError(
            'UPSTREAM_TIMEOUT',
            `the function did not answer in ${timeoutMs} ms; instance ${this.options.id} is stopped`,
          ),
        );
        this.stop();
      }, timeoutMs);
      this.pending = { id, resolve, reject, timer };
      const message: HostMessage = { type: 'invoke', id, request };
      this.child.send(message, (error) => {
        if (error !== null && this.pending?.id === id) {
          this.settle();
          reject(new BerthError('WORKER_CRASHED', `instance ${this.options.id}: ${error.message}`));
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Ends the process: the channel closes (it exits by itself), SIGKILL if it has not after 5 s. */
  stop(): void {
    if (this.state === 'stopped' || this.child.exitCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    else this.child.kill('SIGTERM');
    setTimeout(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }, 5000).unref();
  }

  /** Resolves once the process is gone. */
  exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }
}
