/**
 * A job's folder and every read and write on it. Writes that others may read while the job runs
 * (status, results) go to a temp file first and are renamed or linked into place, so a reader or a
 * crash never sees half a file. A result is linked, not renamed: link() refuses to replace an
 * existing file, which is what makes "the first successful attempt wins" hold even if two
 * coordinators ever raced on one job.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import {
  appendFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { reportLineSchema, resultFileSchema, statusSchema, upgradeRecord } from './records.js';
import type { JobRecord, ReportLine, ResultFile, StoredStatus } from './records.js';

const jobIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$/;

export function jobsDir(workspaceDir: string): string {
  return join(workspaceDir, 'jobs');
}

export function newJobId(deploymentName: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${deploymentName.slice(0, 40)}-${stamp}-${randomBytes(3).toString('hex')}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

export class JobFolder {
  private constructor(
    readonly id: string,
    readonly dir: string,
  ) {}

  static async create(workspaceDir: string, record: JobRecord): Promise<JobFolder> {
    const folder = new JobFolder(record.id, join(jobsDir(workspaceDir), record.id));
    await mkdir(join(folder.dir, 'results'), { recursive: true });
    await mkdir(join(folder.dir, 'logs'), { recursive: true });
    await writeAtomically(join(folder.dir, 'job.json'), `${JSON.stringify(record, null, 2)}\n`);
    return folder;
  }

  static async open(workspaceDir: string, id: string): Promise<JobFolder> {
    if (!jobIdPattern.test(id)) throw new BerthError('BAD_INPUT', `invalid job id ${JSON.stringify(id)}`);
    const folder = new JobFolder(id, join(jobsDir(workspaceDir), id));
    if (!(await exists(join(folder.dir, 'job.json')))) {
      throw new BerthError('NOT_FOUND', `batch job ${id} not found (see \`berth batch list\`)`);
    }
    return folder;
  }

  static async list(workspaceDir: string): Promise<string[]> {
    const names = await readdir(jobsDir(workspaceDir)).catch(() => [] as string[]);
    const ids: string[] = [];
    for (const name of names.sort())
      if (jobIdPattern.test(name) && (await exists(join(jobsDir(workspaceDir), name, 'job.json'))))
        ids.push(name);
    return ids;
  }

  async readRecord(): Promise<JobRecord> {
    return upgradeRecord(JSON.parse(await readFile(join(this.dir, 'job.json'), 'utf8')) as JobRecord);
  }

  async readStatus(): Promise<StoredStatus | undefined> {
    const text = await readFile(join(this.dir, 'status.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = statusSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new BerthError(
        'INTERNAL',
        `job ${this.id}: status.json is not readable: ${parsed.error.message}`,
      );
    return parsed.data;
  }

  async writeStatus(status: StoredStatus): Promise<void> {
    await writeAtomically(join(this.dir, 'status.json'), `${JSON.stringify(status, null, 2)}\n`);
  }

  resultPath(index: number): string {
    return join(this.dir, 'results', `${index}.json`);
  }

  /** Keeps the result unless mini-batch `index` already has one; true when this one was kept. */
  async writeResultOnce(result: ResultFile): Promise<boolean> {
    const path = this.resultPath(result.index);
    const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temp, JSON.stringify(result));
    try {
      await link(temp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async readResult(index: number): Promise<ResultFile | undefined> {
    const text = await readFile(this.resultPath(index), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    return resultFileSchema.parse(JSON.parse(text));
  }

  /** The indexes of the mini-batches that have a result. */
  async resultIndexes(): Promise<Set<number>> {
    const names = await readdir(join(this.dir, 'results')).catch(() => [] as string[]);
    return new Set(names.flatMap((name) => (/^\d+\.json$/.test(name) ? [Number(name.slice(0, -5))] : [])));
  }

  async appendReport(line: ReportLine): Promise<void> {
    await appendFile(join(this.dir, 'report.jsonl'), `${JSON.stringify(line)}\n`);
  }

  async readReport(): Promise<ReportLine[]> {
    const text = await readFile(join(this.dir, 'report.jsonl'), 'utf8').catch(() => '');
    // A crash mid-append can leave a torn last line: skip what does not parse.
    return text.split('\n').flatMap((line) => {
      if (line.trim() === '') return [];
      try {
        const parsed = reportLineSchema.safeParse(JSON.parse(line));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  logPath(worker: string): string {
    return join(this.dir, 'logs', `${worker}.log`);
  }

  async logWorkers(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'logs')).catch(() => [] as string[]);
    return names
      .filter((name) => name.endsWith('.log'))
      .map((name) => name.slice(0, -4))
      .sort();
  }

  /** Appending log writers, one per worker, opened on first use and all closed by close(). */
  openLogs(): { write(worker: string, line: string): void; close(): Promise<void> } {
    const streams = new Map<string, WriteStream>();
    // Output a worker flushed after its exit can arrive after close(): it is dropped, not written to an ended stream.
    let closed = false;
    return {
      write: (worker, line) => {
        if (closed) return;
        const safe = /^[A-Za-z0-9_.-]{1,64}$/.test(worker) ? worker : 'worker';
        let stream = streams.get(safe);
        if (stream === undefined) {
          stream = createWriteStream(this.logPath(safe), { flags: 'a' });
          stream.on('error', () => undefined);
          streams.set(safe, stream);
        }
        stream.write(`${new Date().toISOString()} ${line}\n`);
      },
      close: async () => {
        closed = true;
        await Promise.all(
          [...streams.values()].map((stream) => new Promise<void>((resolve) => stream.end(resolve))),
        );
        streams.clear();
      },
    };
  }

  /**
   * Makes this process the job's only coordinator until the returned release is called. A lock
   * left by a dead process (a killed submitter) is taken over; a live one is a CONFLICT.
   */
  async lock(): Promise<() => Promise<void>> {
    const path = join(this.dir, 'coordinator.lock');
    const me = { pid: process.pid, host: hostname() };
    for (let tries = 0; tries < 3; tries += 1) {
      try {
        await writeFile(path, JSON.stringify(me), { flag: 'wx' });
        return () => rm(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readFile(path, 'utf8')
        .then((text) => JSON.parse(text) as { pid: number; host: string })
        .catch(() => undefined);
      if (holder !== undefined && coordinatorAlive(holder, me.host)) {
        throw new BerthError(
          'CONFLICT',
          `batch job ${this.id} is already running (pid ${holder.pid} on ${holder.host})`,
        );
      }
      await rm(path, { force: true });
    }
    throw new BerthError('CONFLICT', `batch job ${this.id}: could not take the coordinator lock`);
  }

  async requestCancel(): Promise<void> {
    await writeFile(join(this.dir, 'cancel'), new Date().toISOString());
  }

  async cancelRequested(): Promise<boolean> {
    return exists(join(this.dir, 'cancel'));
  }

  async clearCancel(): Promise<void> {
    await rm(join(this.dir, 'cancel'), { force: true });
  }
}

/** True when `pid` runs on this machine (a job from another host is never judged dead from here). */
export function coordinatorAlive(
  coordinator: { pid: number; host: string } | undefined,
  host: string,
): boolean {
  if (coordinator === undefined) return false;
  if (coordinator.host !== host) return true;
  try {
    process.kill(coordinator.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
