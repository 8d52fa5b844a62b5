/**
 * The TS/JS side of the run history's file protocol, for scripts a job runs: `run.log('loss', 0.31)`
 * appends one JSON line to $BERTH_RUN_METRICS, `run.logTable(name, rows)` appends rows to
 * `$BERTH_RUN_HISTORY/tables/<name>.jsonl`, `run.logImage(name, file)` copies an image to
 * `images/`. The runner set both variables. Outside a berth job they do nothing, so the same script
 * runs by hand. Synchronous on purpose: a line is on disk before the next statement, even if the
 * process is killed right after. (A script that cannot import berth imports `berth-run`, the same
 * calls written beside the code by every runner: node-module.ts.)
 */
import { appendFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { BerthError } from '../core/errors.js';
import { checkHistoryName, imageExtensions } from './history.js';

export interface JobRun {
  /** The job's id; undefined outside a berth job. */
  readonly id: string | undefined;
  /** Appends a value to the series `key`. `step` defaults to the series' next index. */
  log(key: string, value: number, step?: number): void;
  /** MLflow's name for `log`. */
  logMetric(key: string, value: number, step?: number): void;
  /** Appends rows (objects, one per row) to the table `name` (`.json`/`.jsonl` is dropped). */
  logTable(name: string, rows: readonly object[]): void;
  /** Copies the image `file` (png, jpg, gif, svg, webp, bmp) into the run as `name`. */
  logImage(name: string, file: string): void;
}

export function createJobRun(env: NodeJS.ProcessEnv = process.env): JobRun {
  const path = env.BERTH_RUN_METRICS;
  const history = env.BERTH_RUN_HISTORY;
  const rank = Number(env.RANK ?? '0');
  const log = (key: string, value: number, step?: number): void => {
    if (!Number.isFinite(value))
      throw new BerthError('BAD_INPUT', `metric ${key}: ${value} is not a finite number`);
    if (path === undefined || path === '') return;
    const line = { key, value, timestamp: Date.now(), rank, ...(step === undefined ? {} : { step }) };
    appendFileSync(path, `${JSON.stringify(line)}\n`);
  };
  const logTable = (name: string, rows: readonly object[]): void => {
    const table = checkHistoryName(name.replace(/\.jsonl?$/, ''), 'table');
    if (
      !Array.isArray(rows) ||
      rows.some((row) => row === null || typeof row !== 'object' || Array.isArray(row))
    )
      throw new BerthError('BAD_INPUT', `table ${table}: expected an array of row objects`);
    if (history === undefined || history === '') return;
    const dir = join(history, 'tables');
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, `${table}.jsonl`), rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  };
  const logImage = (name: string, file: string): void => {
    const ext = extname(file).toLowerCase();
    if (!(imageExtensions as readonly string[]).includes(ext))
      throw new BerthError('BAD_INPUT', `image ${file}: expected one of ${imageExtensions.join(' ')}`);
    const base = checkHistoryName(name, 'image');
    if (history === undefined || history === '') return;
    const dir = join(history, 'images');
    mkdirSync(dir, { recursive: true });
    copyFileSync(file, join(dir, base.toLowerCase().endsWith(ext) ? base : `${base}${ext}`));
  };
  return { id: env.BERTH_RUN_ID, log, logMetric: log, logTable, logImage };
}

/** The run of the job this process belongs to (from its environment). */
export const run: JobRun = createJobRun();
