/**
 * Tables and images in a run's history, besides its metrics: the file protocol the SDKs write
 * (`$BERTH_RUN_HISTORY/tables/<name>.jsonl`, one JSON object per row, appended; `images/<name>.<ext>`,
 * replaced) and what `berth job show` and `job download` read back. A table line that is not a JSON
 * object (a script killed mid-write) is counted as skipped, never fatal.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { BerthError } from '../core/errors.js';
import type { RunFolder } from './run-folder.js';

/** What a table or image may be called: a file name, with no folder in it. */
export const historyNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const imageExtensions = ['.png', '.jpg', '.jpeg', '.gif', '.svg', '.webp', '.bmp'] as const;

export function checkHistoryName(name: string, what: 'table' | 'image'): string {
  if (!historyNamePattern.test(name) || name.includes('..'))
    throw new BerthError(
      'BAD_INPUT',
      `${what} name ${JSON.stringify(name)}: expected letters, digits, "_", "-" and "." (no folders)`,
    );
  return name;
}

export interface TableSummary {
  name: string;
  rows: number;
  /** Every column seen, in order of first appearance. */
  columns: string[];
  skipped: number;
}

export interface ImageSummary {
  /** The file name under `images/`, e.g. `confusion.png`. */
  file: string;
  bytes: number;
}

export interface RunHistory {
  tables: TableSummary[];
  images: ImageSummary[];
}

async function names(dir: string): Promise<string[]> {
  const found = await readdir(dir).catch(() => [] as string[]);
  return found.filter((name) => historyNamePattern.test(name)).sort();
}

export async function readTable(
  folder: RunFolder,
  name: string,
): Promise<{ rows: object[]; skipped: number }> {
  const text = await readFile(
    join(folder.historyDir, 'tables', `${checkHistoryName(name, 'table')}.jsonl`),
    'utf8',
  );
  const rows: object[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const row = JSON.parse(line) as unknown;
      if (row !== null && typeof row === 'object' && !Array.isArray(row)) rows.push(row);
      else skipped += 1;
    } catch {
      skipped += 1;
    }
  }
  return { rows, skipped };
}

export async function readHistory(folder: RunFolder): Promise<RunHistory> {
  const tables: TableSummary[] = [];
  for (const file of await names(join(folder.historyDir, 'tables'))) {
    if (!file.endsWith('.jsonl')) continue;
    const name = file.slice(0, -'.jsonl'.length);
    const { rows, skipped } = await readTable(folder, name);
    const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
    tables.push({ name, rows: rows.length, columns, skipped });
  }
  const images: ImageSummary[] = [];
  for (const file of await names(join(folder.historyDir, 'images'))) {
    if (!(imageExtensions as readonly string[]).includes(extname(file).toLowerCase())) continue;
    const info = await stat(join(folder.historyDir, 'images', file)).catch(() => undefined);
    if (info?.isFile()) images.push({ file, bytes: info.size });
  }
  return { tables, images };
}
