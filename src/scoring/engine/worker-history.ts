/**
 * What has happened to the pool's workers: replacements counted by cause, the latest failure, and
 * how many starts in a row have failed. /berth/status, /metrics and liveness read it.
 */
import type { ReplacementCause } from './pool-worker.js';

/** A replacement's cause, a worker that could not start, or memory over the limit that no worker holds. */
export type FailureCause = ReplacementCause | 'start';

export interface FailureRecord {
  cause: FailureCause;
  message: string;
  /** ISO 8601. */
  at: string;
}

/** Failed starts in a row, with no worker ready, after which the engine can no longer score. */
export const FAILED_STARTS_BEFORE_DEAD = 3;

export class WorkerHistory {
  readonly replaced: Record<ReplacementCause, number> = { timeout: 0, crash: 0, memory: 0, exit: 0 };
  lastFailure: FailureRecord | undefined;
  /** Starts that failed since a worker last became ready. */
  failedStarts = 0;

  get replacements(): number {
    const { timeout, crash, memory, exit } = this.replaced;
    return timeout + crash + memory + exit;
  }

  replacedFor(cause: ReplacementCause, message: string): void {
    this.replaced[cause] += 1;
    this.failed(cause, message);
  }

  startFailed(message: string): void {
    this.failedStarts += 1;
    this.failed('start', message);
  }

  started(): void {
    this.failedStarts = 0;
  }

  failed(cause: FailureCause, message: string): void {
    this.lastFailure = { cause, message, at: new Date().toISOString() };
  }
}
