/**
 * The failure limits of a job, as ParallelRunStep defines them: `error_threshold` counts failed
 * items (a failed mini-batch counts all of its items), `allowed_failed_count` and
 * `allowed_failed_percent` count failed mini-batches. -1 (and 100 %) tolerate anything. The
 * message names the limit and the first items or mini-batches that failed, so a user sees why.
 */
import type { ResolvedBatchDeployment } from './definition/resolve.js';

export interface FailureTally {
  totalMiniBatches: number;
  failedMiniBatches: number[];
  failedItems: number;
  /** The first failed items, key and reason (a few are enough to act on). */
  examples: { key: string; error: string }[];
}

export function exceededThreshold(
  settings: Pick<ResolvedBatchDeployment, 'errorThreshold' | 'allowedFailedCount' | 'allowedFailedPercent'>,
  tally: FailureTally,
): string | undefined {
  const items = tally.examples
    .slice(0, 5)
    .map((example) => `${example.key} (${example.error})`)
    .join('; ');
  const batches = tally.failedMiniBatches.slice(0, 10).join(', ');
  if (settings.errorThreshold >= 0 && tally.failedItems > settings.errorThreshold) {
    return `error_threshold ${settings.errorThreshold} exceeded: ${tally.failedItems} items failed, e.g. ${items || `mini-batches ${batches}`}`;
  }
  const failed = tally.failedMiniBatches.length;
  if (settings.allowedFailedCount >= 0 && failed > settings.allowedFailedCount) {
    return `allowed_failed_count ${settings.allowedFailedCount} exceeded: ${failed} mini-batches failed (${batches})`;
  }
  const percent = tally.totalMiniBatches === 0 ? 0 : (failed / tally.totalMiniBatches) * 100;
  if (percent > settings.allowedFailedPercent) {
    return `allowed_failed_percent ${settings.allowedFailedPercent} exceeded: ${failed} of ${tally.totalMiniBatches} mini-batches failed (${batches})`;
  }
  return undefined;
}
