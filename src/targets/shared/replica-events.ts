/**
 * What happened inside a replica that its probes cannot see: the scoring server replaces a worker
 * stuck past its deadline, one that crashed or exited, or one that took the replica past its memory
 * limit, and stays live. Its `GET /berth/status` counts those replacements; a target reads it on
 * each liveness period and turns every new one into a sentence for the replica's reason and the
 * deployment's logs, so "Healthy, 0 restarts" never hides a wedged or leaking script.
 */
import { z } from 'zod';
import { readStatusPart } from './status-read.js';

const count = z.number().int().nonnegative();

/** The part of the shared `/berth/status` contract read here; other fields are let through. */
const statusSchema = z.object({
  replaced: z.object({ timeout: count, crash: count, memory: count, exit: count }),
  lastFailure: z.object({ cause: z.string(), message: z.string(), at: z.string() }).nullable(),
  memory: z.object({ limitBytes: z.number(), rssBytes: z.number() }),
});

export type ReplicaServerStatus = z.output<typeof statusSchema>;
type Causes = ReplicaServerStatus['replaced'];

const causes: Record<keyof Causes, string> = {
  timeout: 'a request ran past its deadline',
  crash: 'it crashed',
  memory: 'the replica went past its memory limit',
  exit: 'its code called process.exit',
};

/** GET /berth/status with the replica token; undefined when it does not answer in time or well. */
export function readReplicaStatus(
  url: string,
  token: string | undefined,
  timeoutMs: number,
): Promise<ReplicaServerStatus | undefined> {
  return readStatusPart(url, token, timeoutMs, statusSchema);
}

/** Compares successive readings of one server process; a new process starts from zero. */
export class ReplacementWatch {
  private last: Causes | undefined;

  /** Forget the counts: the process was restarted. */
  reset(): void {
    this.last = undefined;
  }

  /** The replacements since the previous reading, one sentence per cause. */
  observe(status: ReplicaServerStatus): string[] {
    const last = this.last;
    // Counts that went down come from a new process (e.g. the engine restarted the container).
    const restarted =
      last !== undefined &&
      Object.keys(causes).some(
        (cause) => status.replaced[cause as keyof Causes] < last[cause as keyof Causes],
      );
    const before = last === undefined || restarted ? { timeout: 0, crash: 0, memory: 0, exit: 0 } : last;
    this.last = status.replaced;
    const events: string[] = [];
    for (const cause of Object.keys(causes) as (keyof Causes)[]) {
      const added = status.replaced[cause] - before[cause];
      if (added <= 0) continue;
      const detail =
        status.lastFailure?.cause === cause
          ? `: ${status.lastFailure.message} (${status.lastFailure.at})`
          : '';
      events.push(
        `scoring worker replaced ${added} time(s) because ${causes[cause]} (${cause}, ${status.replaced[cause]} in all)${detail}`,
      );
    }
    return events;
  }
}
