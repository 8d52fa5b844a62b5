/**
 * One Python worker process running one scoring script, one request at a time. States:
 * starting → ready → (stopping | dead). `ready` settles once `init()` has returned (or failed);
 * a process that exits, or that the pool ends, answers the request it held with the reason.
 * The script's print() and logging records arrive as framed log messages and go to the engine's
 * log with the request id; anything else on the process's stderr (native libraries, a dying
 * interpreter) is logged line by line.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { BerthError } from '../../../core/errors.js';
import type { ReplacementCause } from '../../engine/pool-worker.js';
import type { Logger } from '../logger.js';
import { encodeToPython, FrameReader, type DecodedFrame } from './frames.js';
import {
  fromPythonSchema,
  type FromPython,
  type PythonReady,
  type PythonReply,
  type PythonResult,
  type PythonResults,
  type ToPython,
} from './messages.js';

export type PythonProcessState = 'starting' | 'ready' | 'stopping' | 'dead';

export interface PythonProcessOptions {
  id: number;
  python: string;
  workerScript: string;
  cwd: string;
  env: Record<string, string | undefined>;
  startTimeoutMs: number;
  logger: Logger;
}

/** Why a process ended: what its held request is answered with and what the pool counts. */
export interface Ending {
  cause: ReplacementCause;
  reason: string;
  error: BerthError;
}

type Call = Exclude<ToPython, { type: 'shutdown' }>;
type CallWithoutId = Call extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

interface Held {
  id: number;
  resolve: (reply: PythonReply) => void;
  reject: (error: Error) => void;
}

const STDERR_LINES_KEPT = 20;

export class PythonProcess {
  state: PythonProcessState = 'starting';
  /** True once the process has been ready: only such a process is replaced when it dies. */
  servedOnce = false;
  /** The request running now; undefined when idle. */
  private held: Held | undefined;
  private nextId = 0;
  private ending: Ending | undefined;
  private readonly stderrTail: string[] = [];
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly ready: Promise<PythonReady>;
  /** Resolves with how the process ended (ending undefined: it was not ended on purpose). */
  readonly exited: Promise<{ ending: Ending | undefined; description: string }>;

  constructor(readonly options: PythonProcessOptions) {
    this.child = spawn(options.python, ['-u', options.workerScript], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let settleReady: { resolve: (ready: PythonReady) => void; reject: (error: Error) => void };
    this.ready = new Promise((resolve, reject) => (settleReady = { resolve, reject }));
    this.ready.catch(() => undefined);
    let initFailure: string | undefined;
    const timer = setTimeout(() => {
      if (this.state !== 'starting') return;
      this.end(
        'exit',
        `did not finish init() within ${options.startTimeoutMs} ms`,
        (message) => new BerthError('NOT_READY', message),
      );
    }, options.startTimeoutMs);
    timer.unref();
    const reader = new FrameReader((frame) => {
      const message = this.control(frame);
      if (message === undefined) return;
      if (message.type === 'ready') {
        clearTimeout(timer);
        if (this.state === 'starting') this.state = 'ready';
        this.servedOnce = true;
        settleReady.resolve(message);
      } else if (message.type === 'init-failed') {
        initFailure = message.message;
      } else this.onMessage(message);
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        this.end('crash', 'sent a frame berth cannot read', workerCrashed);
      }
    });
    this.child.stdin.on('error', () => undefined);
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
      options.logger.warn(line, { python: options.id });
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        initFailure ??= `cannot start ${options.python}: ${error.message}`;
      });
      this.child.on('close', (code, signal) => {
        clearTimeout(timer);
        const wasStarting = this.state === 'starting';
        this.state = 'dead';
        const description =
          initFailure ?? (signal === null ? `exited with code ${code}` : `was killed by ${signal}`);
        if (wasStarting) {
          const tail = initFailure === undefined ? this.stderrTail.join('\n') : '';
          settleReady.reject(
            this.ending?.error ??
              new BerthError(
                'RUN_FAILED',
                `the Python scoring script failed at init: ${description}${tail === '' ? '' : `\n${tail}`}`,
              ),
          );
        }
        const held = this.held;
        this.held = undefined;
        held?.reject(
          this.ending?.error ??
            new BerthError(
              'WORKER_CRASHED',
              `Python worker ${options.id} ${description} while running the request`,
            ),
        );
        resolve({ ending: this.ending, description });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get busy(): boolean {
    return this.held !== undefined;
  }

  /** Sends one request; the process must be ready and idle (the pool sees to it). */
  call(message: Exclude<CallWithoutId, { type: 'runs' }>): Promise<PythonResult> {
    return this.send(message).then((reply) => expect(reply, 'result', this.options.id));
  }

  /** Sends several `/score` bodies to run_batch(); answered with one result per body. */
  callRuns(message: Extract<CallWithoutId, { type: 'runs' }>): Promise<PythonResults> {
    return this.send(message).then((reply) => expect(reply, 'results', this.options.id));
  }

  private send(message: CallWithoutId): Promise<PythonReply> {
    if (this.state !== 'ready' || this.held !== undefined) {
      return Promise.reject(new BerthError('INTERNAL', `Python worker ${this.options.id} is not idle`));
    }
    const id = ++this.nextId;
    return new Promise<PythonReply>((resolve, reject) => {
      this.held = { id, resolve, reject };
      this.child.stdin.write(encodeToPython({ ...message, id }));
    });
  }

  /** Ends the process now (SIGKILL): its request, if any, is answered with `errorFor(reason)`. */
  end(cause: ReplacementCause, reason: string, errorFor: (message: string) => BerthError): void {
    if (this.state === 'dead' || this.ending !== undefined) return;
    const message = `Python worker ${this.options.id} ${reason}`;
    this.ending = { cause, reason, error: errorFor(message) };
    this.state = 'stopping';
    this.child.kill('SIGKILL');
  }

  /** Asks the process to finish (after its current request), then kills it if it does not within `graceMs`. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.state === 'dead') return;
    this.state = 'stopping';
    this.child.stdin.end(encodeToPython({ type: 'shutdown' }));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The process's resident memory from /proc (Linux); undefined elsewhere or once it is gone. */
  rssBytes(): number | undefined {
    try {
      const pages = Number(readFileSync(`/proc/${this.child.pid}/statm`, 'utf8').split(' ')[1]);
      return Number.isFinite(pages) ? pages * 4096 : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Answers go to the held request here; a control message is checked and handed back (undefined
   * once handled, or when the process spoke out of protocol and is being ended).
   */
  private control(frame: DecodedFrame): FromPython | undefined {
    if (frame.type === 'result' || frame.type === 'results') {
      this.answer(frame.id, (held) => held.resolve(frame));
      return undefined;
    }
    const parsed = fromPythonSchema.safeParse(frame.message);
    if (!parsed.success) {
      this.end('crash', 'sent a message berth does not understand', workerCrashed);
      return undefined;
    }
    return parsed.data;
  }

  private onMessage(message: Exclude<FromPython, { type: 'ready' | 'init-failed' }>): void {
    if (message.type === 'log') {
      const fields = {
        python: this.options.id,
        ...(message.requestId === null ? {} : { requestId: message.requestId }),
      };
      this.options.logger[message.level](message.message, fields);
      return;
    }
    this.answer(message.id, (held) => held.reject(new BerthError(message.code, message.message)));
  }

  private answer(id: number, settle: (held: Held) => void): void {
    const held = this.held;
    if (held === undefined || held.id !== id) return;
    this.held = undefined;
    settle(held);
  }
}

function expect<T extends PythonReply['type']>(
  reply: PythonReply,
  type: T,
  worker: number,
): Extract<PythonReply, { type: T }> {
  if (reply.type !== type) {
    throw new BerthError(
      'WORKER_CRASHED',
      `Python worker ${worker} answered ${reply.type} to a call for ${type}`,
    );
  }
  return reply as Extract<PythonReply, { type: T }>;
}

function workerCrashed(message: string): BerthError {
  return new BerthError('WORKER_CRASHED', message);
}
