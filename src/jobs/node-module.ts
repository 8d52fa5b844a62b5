/**
 * `berth-run`, the Node side of the run history's file protocol, as the files of a tiny package
 * the runner writes beside the code (`<run>/node_modules/berth-run`), so a script run by any
 * target, a container included, logs with `import { run } from 'berth-run'` and nothing
 * installed. The same calls as berth's own `run` (run-log.ts); outside a berth job they do nothing.
 * Plain JavaScript with no imports but node's, because it runs wherever the job runs. With it, the
 * loader that runs the job's TypeScript (typescript-loader.ts).
 */
import { typeScriptLoaderFiles } from './typescript-loader.js';

const source = `// Log metrics, tables and images to the berth job this script runs in (no-op outside a job).
import { appendFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';

const env = process.env;
const rank = Number(env.RANK ?? '0');
const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const imageExtensions = ['.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp', '.bmp'];

function checkName(name, what) {
  if (!namePattern.test(name) || name.includes('..'))
    throw new Error(\`\${what} name \${JSON.stringify(name)}: expected letters, digits, "_", "-" and "." (no folders)\`);
  return name;
}

function log(key, value, step) {
  if (!Number.isFinite(value)) throw new Error(\`metric \${key}: \${value} is not a finite number\`);
  if (!env.BERTH_RUN_METRICS) return;
  const line = { key, value, timestamp: Date.now(), rank, ...(step === undefined ? {} : { step }) };
  appendFileSync(env.BERTH_RUN_METRICS, JSON.stringify(line) + '\\n');
}

function logTable(name, rows) {
  const table = checkName(String(name).replace(/\\.jsonl?$/, ''), 'table');
  if (!Array.isArray(rows) || rows.some((row) => row === null || typeof row !== 'object' || Array.isArray(row)))
    throw new Error(\`table \${table}: expected an array of row objects\`);
  if (!env.BERTH_RUN_HISTORY) return;
  const dir = join(env.BERTH_RUN_HISTORY, 'tables');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, table + '.jsonl'), rows.map((row) => JSON.stringify(row) + '\\n').join(''));
}

function logImage(name, file) {
  const ext = extname(file).toLowerCase();
  if (!imageExtensions.includes(ext)) throw new Error(\`image \${file}: expected one of \${imageExtensions.join(' ')}\`);
  const base = checkName(String(name), 'image');
  if (!env.BERTH_RUN_HISTORY) return;
  const dir = join(env.BERTH_RUN_HISTORY, 'images');
  mkdirSync(dir, { recursive: true });
  copyFileSync(file, join(dir, base.toLowerCase().endsWith(ext) ? base : base + ext));
}

export const run = {
  id: env.BERTH_RUN_ID,
  log,
  logMetric: log,
  logTable,
  logImage,
};
export default run;
`;

/** The same API's types, so a TypeScript trainer's `import { run } from 'berth-run'` is typed (run-log.ts's JobRun). */
const declarations = `/** The run of the berth job this script runs in; outside a job its calls only check their arguments. */
export interface JobRun {
  /** The job's id; undefined outside a berth job. */
  readonly id: string | undefined;
  /** Appends a value to the series \`key\`. \`step\` defaults to the series' next index. */
  log(key: string, value: number, step?: number): void;
  /** MLflow's name for \`log\`. */
  logMetric(key: string, value: number, step?: number): void;
  /** Appends rows (objects, one per row) to the table \`name\` (\`.json\`/\`.jsonl\` is dropped). */
  logTable(name: string, rows: readonly object[]): void;
  /** Copies the image \`file\` (png, jpg, gif, svg, webp, bmp) into the run as \`name\`. */
  logImage(name: string, file: string): void;
}
export declare const run: JobRun;
export default run;
`;

const packageJson = {
  name: 'berth-run',
  version: '1.0.0',
  type: 'module',
  types: './index.d.ts',
  exports: { '.': { types: './index.d.ts', default: './index.js' } },
};

/** The package's files, by path inside `node_modules/berth-run`: the API, its types, the TypeScript loader. */
export const nodeModuleFiles: Readonly<Record<string, string>> = {
  'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
  'index.js': source,
  'index.d.ts': declarations,
  ...typeScriptLoaderFiles,
};
