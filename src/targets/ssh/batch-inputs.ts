/**
 * A batch job's input files on the machine: each file a mini-batch names is shipped once, on first
 * use, to `<job folder>/in/<its absolute path here>`, so names and folders stay as they were (a
 * script that reads files by extension or folder sees the same). Keys go back the other way: a
 * result's key names the file as it is here, so the output is the one a local run writes.
 *
 * A file counts as shipped only once its upload has ended well; a dropped upload is sent again by
 * the next attempt that needs it, so no mini-batch reads a half file. A file that cannot be read
 * here is not sent: the worker then reports it as a failed item, as a local worker would.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { MiniBatchOutcome, MiniBatchPlan } from '../../batch/engine.js';
import { BerthError } from '../../core/errors.js';
import { collect, shellQuote, type SshConnection } from './connection.js';

export class RemoteInputs {
  private readonly shipped = new Map<string, Promise<void>>();

  constructor(
    private readonly connection: SshConnection,
    /** Absolute folder on the machine under which local paths are mirrored. */
    readonly root: string,
  ) {}

  toRemote(path: string): string {
    return `${this.root}${path}`;
  }

  /** A key the worker reported (a remote path, maybe with `#row`) as the same key here. */
  toLocal(key: string): string {
    return key.startsWith(`${this.root}/`) ? key.slice(this.root.length) : key;
  }

  /** The plan as the machine reads it; ships the files it names that are not there yet. */
  async remotePlan(plan: MiniBatchPlan): Promise<MiniBatchPlan> {
    const paths = plan.kind === 'files' ? plan.paths : [plan.source];
    await this.ensure(paths);
    return plan.kind === 'files'
      ? { ...plan, paths: plan.paths.map((path) => this.toRemote(path)) }
      : { ...plan, source: this.toRemote(plan.source) };
  }

  /** The outcome with its keys as they are here. */
  localOutcome(outcome: MiniBatchOutcome): MiniBatchOutcome {
    return {
      ...outcome,
      rows: outcome.rows.map((row) => ({ key: this.toLocal(row.key), value: row.value })),
      failedItems: outcome.failedItems.map((item) => ({
        key: this.toLocal(item.key),
        error: item.error.replaceAll(`${this.root}/`, '/'),
      })),
    };
  }

  private async ensure(paths: readonly string[]): Promise<void> {
    const missing: string[] = [];
    const waits: Promise<void>[] = [];
    for (const path of new Set(paths)) {
      const known = this.shipped.get(path);
      if (known !== undefined) waits.push(known);
      else if (await readable(path)) missing.push(path);
    }
    if (missing.length > 0) {
      const upload = this.upload(missing);
      for (const path of missing) {
        const entry = upload.catch((error: unknown) => {
          if (this.shipped.get(path) === entry) this.shipped.delete(path);
          throw error;
        });
        this.shipped.set(path, entry);
        waits.push(entry);
      }
    }
    await Promise.all(waits);
  }

  private async upload(paths: string[]): Promise<void> {
    // Members relative to /, so they land under the root with their whole path.
    const members = paths.map((path) => path.replace(/^\/+/, ''));
    const tar = spawn('tar', ['-C', '/', '-cf', '-', '--', ...members], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const script = `mkdir -p ${shellQuote(this.root)} && tar -xf - -C ${shellQuote(this.root)}`;
    const upload = spawn('ssh', this.connection.commandArgs(script), { stdio: ['pipe', 'pipe', 'pipe'] });
    tar.stdout.pipe(upload.stdin);
    upload.stdin.on('error', () => undefined);
    const [packed, unpacked] = await Promise.all([collect(tar, false), collect(upload)]);
    if (packed.code !== 0 || unpacked.code !== 0) {
      throw new BerthError(
        'INTERNAL',
        `cannot ship ${paths.length} input file(s) to ${this.connection.where}: ${(packed.stderr + unpacked.stderr).trim().slice(-1000)}`,
      );
    }
  }
}

async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
