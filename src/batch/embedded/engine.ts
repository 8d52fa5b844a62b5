/**
 * The embedded batch engine: a pool of worker processes on this machine, one per slot
 * (`instance_count × max_concurrency_per_instance`), each running one mini-batch at a time.
 * Attempts beyond the slots wait here, unsent and with no timeout running; a slot that frees takes
 * the next one at once, before the coordinator has even seen the outcome it just produced.
 *
 * A slot's process lives across mini-batches (init() runs once per process). It is killed and
 * left empty when an attempt times out or is aborted, and a process that dies is noticed through
 * its exit; either way the attempt resolves as a failed outcome (the coordinator retries it), and
 * the slot's next attempt forks a fresh process. Each process's stdout and stderr go to the
 * coordinator's log sink line by line, under the slot's name (w1, w2, …).
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  attemptAbortError,
  failedAttempt,
  type BatchEngine,
  type BatchEngineContext,
  type ExecuteHooks,
  type MiniBatchOutcome,
  type MiniBatchTask,
} from '../engine.js';
import type { FromWorker, ToWorker } from './messages.js';
import { SlotPool } from '../slot-pool.js';

const workerEntry = fileURLToPath(new URL('./worker-main.js', import.meta.url));

/** Loading a model or compiling a script can take far longer than one mini-batch. */
const minimumInitMs = 120_000;

type Event =
  | { kind: 'message'; message: FromWorker }
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

interface Slot {
  name: string;
  index: number;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
}

export class EmbeddedEngine implements BatchEngine {
  readonly kind = 'embedded' as const;
  private readonly slots: Slot[];
  private readonly pool: SlotPool<Slot>;

  constructor(private readonly context: BatchEngineContext) {
    const size = context.instanceCount * context.maxConcurrencyPerInstance;
    this.slots = Array.from({ length: size }, (_, index) => ({
      name: `w${index + 1}`,
      index,
      child: undefined,
      exited: undefined,
    }));
    this.pool = new SlotPool(this.slots, 'the embedded engine');
  }

  async execute(task: MiniBatchTask, signal?: AbortSignal, hooks?: ExecuteHooks): Promise<MiniBatchOutcome> {
    return this.pool.using(signal, (slot) => this.attempt(slot, task, signal, hooks));
  }

  /** Idle workers are asked to leave (closing the IPC channel ends them); SIGKILL after a grace period. */
  async close(): Promise<void> {
    this.pool.close();
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (child?.connected) child.disconnect();
        const grace = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
        await Promise.race([slot.exited, grace]);
        await this.stop(slot);
      }),
    );
  }

  private async attempt(
    slot: Slot,
    task: MiniBatchTask,
    signal: AbortSignal | undefined,
    hooks: ExecuteHooks | undefined,
  ): Promise<MiniBatchOutcome> {
    const started = Date.now();
    const failed = (code: string, message: string, phase: 'init' | 'run'): MiniBatchOutcome =>
      failedAttempt(task, slot.name, started, { code, message, phase });
    if (slot.child === undefined) {
      const child = this.spawn(slot);
      const event = await nextEvent(child, Math.max(minimumInitMs, task.timeoutMs), signal);
      if (event.kind !== 'message' || event.message.type !== 'ready') {
        await this.stop(slot);
        if (event.kind === 'aborted') throw attemptAbortError(signal);
        if (event.kind === 'message' && event.message.type === 'init-failed') {
          return failed(event.message.error.code, event.message.error.message, 'init');
        }
        return failed(
          'WORKER_CRASHED',
          `worker ${slot.name} (pid ${child.pid}) ${describe(event)} while starting`,
          'init',
        );
      }
    }
    const child = slot.child;
    if (child === undefined) return failed('WORKER_CRASHED', `worker ${slot.name} is gone`, 'init');
    hooks?.onStarted?.({ name: slot.name, pid: child.pid, host: hostname() });
    const message: ToWorker = { type: 'run', task };
    child.send(message);
    const event = await nextEvent(child, task.timeoutMs, signal);
    if (event.kind === 'message' && event.message.type === 'outcome') return event.message.outcome;
    await this.stop(slot);
    if (event.kind === 'aborted') throw attemptAbortError(signal);
    if (event.kind === 'timeout') {
      this.context.log({
        worker: slot.name,
        stream: 'berth',
        line: `mini-batch ${task.plan.index} timed out; process ${child.pid} killed`,
      });
      return failed(
        'UPSTREAM_TIMEOUT',
        `run() did not finish within ${task.timeoutMs / 1000} s (retry_settings.timeout)`,
        'run',
      );
    }
    return failed(
      'WORKER_CRASHED',
      `worker ${slot.name} (pid ${child.pid}) ${describe(event)} while running mini-batch ${task.plan.index}`,
      'run',
    );
  }

  private spawn(slot: Slot): ChildProcess {
    const gpus = this.context.gpus;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.context.program.environmentVariables,
      BERTH_BATCH_WORKER: slot.name,
      // Each process gets its share of the cores for ONNX Runtime, unless the user chose.
      BERTH_ORT_INTRA_OP_THREADS:
        process.env.BERTH_ORT_INTRA_OP_THREADS ??
        String(Math.max(1, Math.floor(availableParallelism() / this.slots.length))),
    };
    if (gpus !== undefined && gpus.length > 0) env.CUDA_VISIBLE_DEVICES = gpus[slot.index % gpus.length];
    // execArgv is cleared: a parent run under `node --test` or a loader must not pass that on.
    const child = fork(workerEntry, [], {
      env,
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    slot.child = child;
    slot.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (const [stream, source] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      if (source === null) continue;
      createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) =>
        this.context.log({ worker: slot.name, stream, line }),
      );
    }
    child.once('exit', (code, signal) => {
      if (slot.child === child) slot.child = undefined;
      this.context.log({
        worker: slot.name,
        stream: 'berth',
        line: `process ${child.pid} exited (${signal ?? `code ${code}`})`,
      });
    });
    child.on('error', (error) =>
      this.context.log({ worker: slot.name, stream: 'berth', line: `process error: ${error.message}` }),
    );
    this.context.log({ worker: slot.name, stream: 'berth', line: `process ${child.pid} started` });
    const init: ToWorker = {
      type: 'init',
      jobId: this.context.jobId,
      worker: slot.name,
      program: this.context.program,
    };
    child.send(init);
    return child;
  }

  private async stop(slot: Slot): Promise<void> {
    const child = slot.child;
    const exited = slot.exited;
    slot.child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

/** Waits for the child's next message, its exit, the timeout or the abort, whichever comes first. */
function nextEvent(child: ChildProcess, timeoutMs: number, signal: AbortSignal | undefined): Promise<Event> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ kind: 'exit', code: child.exitCode, signal: child.signalCode });
      return;
    }
    const finish = (event: Event): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
      resolve(event);
    };
    const onMessage = (message: FromWorker): void => finish({ kind: 'message', message });
    const onExit = (code: number | null, exitSignal: NodeJS.Signals | null): void =>
      finish({ kind: 'exit', code, signal: exitSignal });
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(event: Event): string {
  if (event.kind === 'exit')
    return event.signal !== null ? `was killed (${event.signal})` : `exited with code ${event.code}`;
  if (event.kind === 'timeout') return 'did not answer in time';
  return 'sent an unexpected message';
}

export async function createEmbeddedEngine(context: BatchEngineContext): Promise<BatchEngine> {
  return new EmbeddedEngine(context);
}
