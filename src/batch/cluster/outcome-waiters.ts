/**
 * Waits for the BullMQ jobs the engine enqueued to finish, and turns each into exactly one
 * MiniBatchOutcome.
 *
 * Two paths lead to the same check: BullMQ's events (`completed`, `failed`, `duplicated`; read by
 * event-reader.ts) for speed, and a poll of every pending job for safety. A `completed` event
 * carries the job's return value, the outcome itself, so the common case settles without reading
 * the job back. An event the stream trimmed before it was read would leave its job waited for
 * forever; the check reads the job itself, so whichever path sees the end first settles the wait,
 * and settling twice is impossible. A job settled by reading it is removed then (it was found by
 * the rare path: a resumed job, a missed event); the others BullMQ trims when later jobs finish.
 *
 * Who runs an attempt: the `active` event says a worker took it (not which), and the worker's own
 * note (job progress) names it once the attempt has run a while (worker.ts).
 *
 * A stalled job (its worker died) is moved back to the queue by BullMQ and run again, on the same
 * BullMQ job: the submitter sees only its final state. Only a job that stalled more than the
 * workers' `maxStalledCount` fails, and that becomes a WORKER_CRASHED outcome the coordinator retries.
 */
import type { Job, Queue } from 'bullmq';
import type { ExecuteHooks, MiniBatchOutcome, MiniBatchTask } from '../engine.js';
import { failedOutcome, parseOutcome, parseStarted, type StartedNote } from './messages.js';

interface Waiter {
  task: MiniBatchTask;
  hooks: ExecuteHooks | undefined;
  enqueuedAt: number;
  started: StartedNote | undefined;
  /** A worker took it (onStarted was called, with or without who). */
  taken: boolean;
  checking: boolean;
  resolve(outcome: MiniBatchOutcome): void;
}

/** The value of a JSON event field; undefined when it is missing or not JSON. */
function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export class OutcomeWaiters {
  readonly #waiting = new Map<string, Waiter>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly queue: Queue,
    pollIntervalMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.#timer = setInterval(() => this.checkAll(), pollIntervalMs);
    this.#timer.unref();
  }

  /** Starts waiting for `id`; the promise resolves with the attempt's outcome. */
  wait(id: string, task: MiniBatchTask, hooks: ExecuteHooks | undefined): Promise<MiniBatchOutcome> {
    return new Promise((resolve) => {
      this.#waiting.set(id, {
        task,
        hooks,
        enqueuedAt: performance.now(),
        started: undefined,
        taken: false,
        checking: false,
        resolve: (outcome) => {
          if (this.#waiting.get(id)?.task !== task) return;
          this.#waiting.delete(id);
          resolve(outcome);
        },
      });
    });
  }

  forget(id: string): void {
    this.#waiting.delete(id);
  }

  get size(): number {
    return this.#waiting.size;
  }

  has(id: string): boolean {
    return this.#waiting.has(id);
  }

  /** A worker took the job (its `active` event); which one, its note tells later. */
  taken(id: string): void {
    const waiter = this.#waiting.get(id);
    if (waiter === undefined || waiter.taken) return;
    waiter.taken = true;
    waiter.hooks?.onStarted?.(undefined);
  }

  /** A worker reported it runs the job (job progress, as JSON). */
  started(id: string, json: string | undefined): void {
    const waiter = this.#waiting.get(id);
    const note = parseStarted(parseJson(json));
    if (waiter === undefined || note === undefined) return;
    this.#noteStart(id, waiter, note);
  }

  #noteStart(id: string, waiter: Waiter, note: StartedNote): void {
    const previous = waiter.started;
    if (previous !== undefined && previous.pid === note.pid && previous.worker === note.worker) return;
    waiter.started = note;
    waiter.taken = true;
    if (previous !== undefined) {
      this.log(
        `mini-batch ${waiter.task.plan.index} (attempt ${waiter.task.attempt}) left ${previous.worker} unfinished; now on ${note.worker}`,
      );
    }
    waiter.hooks?.onStarted?.({ name: note.worker, pid: note.pid, host: note.host });
  }

  /** A `completed` event: its return value (JSON) is the outcome; one that does not parse is read again from the job. */
  completed(id: string, returnvalue: string | undefined): void {
    const waiter = this.#waiting.get(id);
    if (waiter === undefined) return;
    let outcome: MiniBatchOutcome;
    try {
      outcome = parseOutcome(parseJson(returnvalue));
    } catch {
      this.check(id);
      return;
    }
    waiter.resolve(outcome);
  }

  checkAll(): void {
    for (const id of this.#waiting.keys()) this.check(id);
  }

  /** Reads the job; settles the wait when it has finished. Never throws: a failed read is retried by the poll. */
  check(id: string): void {
    const waiter = this.#waiting.get(id);
    if (waiter === undefined || waiter.checking) return;
    waiter.checking = true;
    // Deliberately not awaited (callers are event handlers and a timer); every rejection is caught.
    void this.queue
      .getJob(id)
      .then((job) => this.#settleFrom(id, waiter, job))
      .catch(() => undefined)
      .finally(() => {
        waiter.checking = false;
      });
  }

  #settleFrom(id: string, waiter: Waiter, job: Job | undefined): void {
    if (job?.finishedOn !== undefined) {
      // Read here, so nobody needs it any more (a failed removal leaves it to BullMQ's trim).
      void this.queue.remove(id).catch(() => undefined);
    }
    const elapsed = Math.round(performance.now() - waiter.enqueuedAt);
    if (job === undefined) {
      waiter.resolve(
        failedOutcome(waiter.task, 'cluster', elapsed, {
          code: 'WORKER_CRASHED',
          message: `mini-batch ${waiter.task.plan.index} vanished from the queue (removed from Redis by someone else?)`,
        }),
      );
      return;
    }
    const note = parseStarted(job.progress);
    if (note !== undefined) this.#noteStart(id, waiter, note);
    if (job.finishedOn === undefined) return;
    const worker = waiter.started?.worker ?? job.processedBy ?? 'cluster';
    if (job.failedReason) {
      const stalled = /stalled/i.test(job.failedReason);
      waiter.resolve(
        failedOutcome(waiter.task, worker, elapsed, {
          code: stalled ? 'WORKER_CRASHED' : 'INTERNAL',
          message: stalled
            ? `mini-batch ${waiter.task.plan.index}: its workers died (${job.failedReason})`
            : `mini-batch ${waiter.task.plan.index}: ${job.failedReason}`,
        }),
      );
      return;
    }
    try {
      waiter.resolve(parseOutcome(job.returnvalue));
    } catch (error) {
      waiter.resolve(
        failedOutcome(waiter.task, worker, elapsed, {
          code: 'INTERNAL',
          message: `the worker's outcome was not understood: ${(error as Error).message}`,
        }),
      );
    }
  }

  /** Stops polling; attempts still waited for resolve as failed (SHUTTING_DOWN), so no caller hangs. */
  close(): void {
    clearInterval(this.#timer);
    for (const waiter of [...this.#waiting.values()]) {
      waiter.resolve(
        failedOutcome(waiter.task, 'cluster', Math.round(performance.now() - waiter.enqueuedAt), {
          code: 'SHUTTING_DOWN',
          message: 'the cluster engine was closed before this mini-batch finished',
        }),
      );
    }
  }
}
