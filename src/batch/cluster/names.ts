/**
 * Where things live in Redis. All cluster keys start with the queue prefix (default `berth`):
 *
 * - `<prefix>:batch:*` — BullMQ's keys for the ONE shared queue `batch`. Every berth job's
 *   mini-batches go there, each BullMQ job carrying its berth job id in its data, so a worker
 *   started once serves every job submitted to that Redis: no registry of queues to poll, and a
 *   worker that joins late simply starts taking work.
 * - `<prefix>:artifact:<sha256>` — one hash per model blob (see artifacts.ts).
 */
export const defaultQueuePrefix = 'berth';
export const queueName = 'batch';

/**
 * The BullMQ job id of one attempt of one mini-batch: deterministic, so enqueuing the same attempt
 * twice (a retried `add` after a dropped connection) is a no-op in BullMQ. BullMQ refuses ':' in
 * custom ids, so the berth job id is escaped.
 */
export function bullJobId(jobId: string, index: number, attempt: number): string {
  return `${encodeURIComponent(jobId).replaceAll(':', '%3A')}.${index}.${attempt}`;
}

export function artifactKey(prefix: string, sha256: string): string {
  return `${prefix}:artifact:${sha256}`;
}

/** Client names start with the prefix, so `CLIENT LIST` (and the tests) can tell whose a connection is. */
export function clientName(prefix: string, role: string): string {
  return `${prefix}:berth-${role}-${process.pid}`;
}
