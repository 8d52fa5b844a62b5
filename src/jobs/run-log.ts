/**
 * The TS/JS side of the metrics file protocol, for scripts a job runs: `run.log('loss', 0.31)`
 * appends one JSON line to $BERTH_RUN_METRICS, which the runner set. Outside a berth job it does
 * nothing, so the same script runs by hand. Synchronous on purpose: a line is on disk before the
 * next statement, even if the process is killed right after.
 */
import { appendFileSync } from 'node:fs';
import { BerthError } from '../core/errors.js';

export interface JobRun {
  /** The job's id; undefined outside a berth job. */
  readonly id: string | undefined;
  /** Appends a value to the series `key`. `step` defaults to the series' next index. */
  log(key: string, value: number, step?: number): void;
  /** MLflow's name for `log`. */
  logMetric(key: string, value: number, step?: number): void;
}

export function createJobRun(env: NodeJS.ProcessEnv = process.env): JobRun {
  const path = env.BERTH_RUN_METRICS;
  const rank = Number(env.RANK ?? '0');
  const log = (key: string, value: number, step?: number): void => {
    if (!Number.isFinite(value))
      throw new BerthError('BAD_INPUT', `metric ${key}: ${value} is not a finite number`);
    if (path === undefined || path === '') return;
    const line = { key, value, timestamp: Date.now(), rank, ...(step === undefined ? {} : { step }) };
    appendFileSync(path, `${JSON.stringify(line)}\n`);
  };
  return { id: env.BERTH_RUN_ID, log, logMetric: log };
}

/** The run of the job this process belongs to (from its environment). */
export const run: JobRun = createJobRun();
