/**
 * A minimal coordinator for the bench: keeps `inFlight` attempts on an engine, retries a
 * failed attempt (as the real coordinator would), and counts items. Enough to time an engine
 * without the job folder and output merging in the way.
 */
import type {
  BatchEngine,
  BatchProgramSpec,
  MiniBatchOutcome,
  MiniBatchTask,
} from '../../src/batch/engine.js';
import { treeCpuSeconds } from './cpu.js';

export interface DriveResult {
  seconds: number;
  itemsPerSecond: number;
  retries: number;
  /** Items without a result, and items with more than one (both must be 0). */
  missing: number;
  duplicated: number;
  /** CPU-seconds this process and its children spent during the run (see cpu.ts); undefined off Linux. */
  cpuSeconds: number | undefined;
}

export function planTasks(
  jobId: string,
  paths: string[],
  perBatch: number,
  program: BatchProgramSpec,
): MiniBatchTask[] {
  const tasks: MiniBatchTask[] = [];
  for (let start = 0; start < paths.length; start += perBatch) {
    tasks.push({
      jobId,
      attempt: 0,
      plan: { index: tasks.length, kind: 'files', paths: paths.slice(start, start + perBatch) },
      program,
      timeoutMs: 120_000,
    });
  }
  return tasks;
}

export async function drive(
  engine: BatchEngine,
  tasks: MiniBatchTask[],
  inFlight: number,
  onItems?: (done: number) => void,
): Promise<DriveResult> {
  const pending = [...tasks];
  const results: MiniBatchOutcome[] = [];
  let retries = 0;
  let done = 0;
  const started = performance.now();
  const cpuBefore = treeCpuSeconds();
  async function lane(): Promise<void> {
    for (let task = pending.shift(); task !== undefined; task = pending.shift()) {
      const outcome = await engine.execute(task);
      if (outcome.status === 'failed') {
        if (task.attempt >= 3)
          throw new Error(`mini-batch ${task.plan.index} failed 4 times: ${outcome.error?.message}`);
        retries += 1;
        pending.push({ ...task, attempt: task.attempt + 1 });
        continue;
      }
      results.push(outcome);
      done += outcome.rows.length;
      onItems?.(done);
    }
  }
  await Promise.all(Array.from({ length: inFlight }, () => lane()));
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = treeCpuSeconds();
  const counts = new Map<string, number>();
  for (const outcome of results)
    for (const row of outcome.rows) counts.set(row.key, (counts.get(row.key) ?? 0) + 1);
  const expected = tasks.flatMap((task) => (task.plan.kind === 'files' ? task.plan.paths : []));
  return {
    seconds,
    itemsPerSecond: done / seconds,
    retries,
    missing: expected.filter((key) => !counts.has(key)).length,
    duplicated: [...counts.values()].filter((count) => count > 1).length,
    cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
}
