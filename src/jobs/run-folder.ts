/**
 * A run's folder, `<workspace>/runs/<id>/`, and every read and write on it:
 *
 * - `run.json`: the run record (what was asked), written once;
 * - `status.json`: the status, replaced whole (temp file + rename) so readers never see half;
 * - `code/`: the working folder (the code snapshot, with `outputs/` and `logs/` the command fills);
 * - `std_log.txt` (`std_log_process_<rank>.txt` for ranks above 0): the command's stdout and stderr;
 * - `metrics.jsonl`: the metrics the command logs; `history/`: its tables and images.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../core/errors.js';
import { runRecordSchema, runStatusSchema, type RunRecord, type RunStatus } from './records.js';

const runIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$/;

export function runsDir(workspaceDir: string): string {
  return join(workspaceDir, 'runs');
}

export function newRunId(displayName: string, now = new Date()): string {
  const slug =
    displayName
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'job';
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${slug}-${stamp}-${randomBytes(3).toString('hex')}`;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, 'utf8')) as unknown;
}

export class RunFolder {
  private constructor(
    readonly id: string,
    readonly dir: string,
  ) {}

  get workDir(): string {
    return join(this.dir, 'code');
  }
  get outputsDir(): string {
    return join(this.workDir, 'outputs');
  }
  /** Present once a cancel was asked for: how a cancel reaches a cluster worker. */
  get cancelFile(): string {
    return join(this.dir, 'cancel-requested');
  }
  get metricsFile(): string {
    return join(this.dir, 'metrics.jsonl');
  }
  /** `tables/<name>.jsonl` and `images/<name>.<ext>`: what the command logs besides metrics. */
  get historyDir(): string {
    return join(this.dir, 'history');
  }
  logFile(rank: number): string {
    return join(this.dir, rank === 0 ? 'std_log.txt' : `std_log_process_${rank}.txt`);
  }

  static async create(workspaceDir: string, record: RunRecord): Promise<RunFolder> {
    const folder = new RunFolder(record.id, join(runsDir(workspaceDir), record.id));
    await mkdir(folder.dir, { recursive: true });
    await writeAtomically(join(folder.dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
    return folder;
  }

  /** Opens a run folder by its path (the runner gets the path, not the workspace). */
  static at(dir: string, id: string): RunFolder {
    return new RunFolder(id, dir);
  }

  static async open(workspaceDir: string, id: string): Promise<RunFolder> {
    if (!runIdPattern.test(id)) throw new BerthError('BAD_INPUT', `invalid job id ${JSON.stringify(id)}`);
    const folder = new RunFolder(id, join(runsDir(workspaceDir), id));
    const found = await stat(join(folder.dir, 'run.json')).then(
      () => true,
      () => false,
    );
    if (!found) throw new BerthError('NOT_FOUND', `job ${id} not found (see \`berth job list\`)`);
    return folder;
  }

  /** Run ids, oldest first (ids start with the name, so sort by the folder's record time instead). */
  static async list(workspaceDir: string): Promise<string[]> {
    const names = await readdir(runsDir(workspaceDir)).catch(() => [] as string[]);
    return names.filter((name) => runIdPattern.test(name));
  }

  async record(): Promise<RunRecord> {
    return runRecordSchema.parse(await readJson(join(this.dir, 'run.json')));
  }

  async status(): Promise<RunStatus> {
    return runStatusSchema.parse(await readJson(join(this.dir, 'status.json')));
  }

  async writeStatus(status: Omit<RunStatus, 'updatedAt'>): Promise<RunStatus> {
    const full: RunStatus = { ...status, updatedAt: new Date().toISOString() };
    await writeAtomically(join(this.dir, 'status.json'), `${JSON.stringify(full, null, 2)}\n`);
    return full;
  }

  async updateStatus(patch: Partial<Omit<RunStatus, 'updatedAt'>>): Promise<RunStatus> {
    return this.writeStatus({ ...(await this.status()), ...patch });
  }
}
