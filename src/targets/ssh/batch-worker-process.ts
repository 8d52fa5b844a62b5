/**
 * One batch worker on the machine, seen from here: the SSH session running it (a local `ssh`
 * process), its messages read off the session's stdout, the user's output passed on line by line.
 * The remote pid comes in the worker's first message, so stop() can end the remote process itself
 * (SIGKILL) even when it is stuck in a run and would not notice its session ending.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { messageMark, parseWorkerMessage, type FromSshWorker, type ToSshWorker } from './batch-messages.js';
import type { SshConnection } from './connection.js';

export type WorkerEvent =
  | { kind: 'message'; message: FromSshWorker }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

export class RemoteWorkerProcess {
  private readonly child: ChildProcess;
  private readonly events = new EventEmitter();
  private exitEvent: WorkerEvent | undefined;
  /** The worker's pid on the machine, once it said hello. */
  remotePid: number | undefined;
  readonly exited: Promise<void>;

  constructor(
    private readonly connection: SshConnection,
    command: string,
    onLine: (stream: 'stdout' | 'stderr', line: string) => void,
  ) {
    this.child = spawn('ssh', connection.commandArgs(command), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        this.exitEvent = { kind: 'exit', code, signal };
        this.events.emit('event', this.exitEvent);
        resolve();
      }),
    );
    this.child.on('error', (error) => onLine('stderr', `ssh: ${error.message}`));
    if (this.child.stdout !== null) {
      createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => {
        const message = line.startsWith(messageMark) ? parseWorkerMessage(line.slice(1)) : undefined;
        if (message === undefined) onLine('stdout', line);
        else if (message.type === 'hello') this.remotePid = message.pid;
        else this.events.emit('event', { kind: 'message', message });
      });
    }
    if (this.child.stderr !== null) {
      createInterface({ input: this.child.stderr, crlfDelay: Infinity }).on('line', (line) =>
        onLine('stderr', line),
      );
    }
  }

  get localPid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitEvent === undefined;
  }

  send(message: ToSshWorker): void {
    this.child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  /** Ends the session's stdin: an idle worker exits at once. */
  leave(): void {
    this.child.stdin?.end();
  }

  /** The next message, the session's end, the timeout or the abort, whichever comes first. */
  next(timeoutMs: number, signal: AbortSignal | undefined): Promise<WorkerEvent> {
    return new Promise((resolve) => {
      if (this.exitEvent !== undefined) {
        resolve(this.exitEvent);
        return;
      }
      const finish = (event: WorkerEvent): void => {
        clearTimeout(timer);
        this.events.off('event', finish);
        signal?.removeEventListener('abort', onAbort);
        resolve(event);
      };
      const onAbort = (): void => finish({ kind: 'aborted' });
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      this.events.on('event', finish);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends the worker on the machine (by its pid) and the session here. */
  async stop(): Promise<void> {
    if (this.remotePid !== undefined && this.running) {
      await this.connection.exec(`kill -KILL ${this.remotePid} 2>/dev/null; exit 0`).catch(() => undefined);
    }
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}
