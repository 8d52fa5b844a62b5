/**
 * What a deployment runs, shipped to the machine once per content: the scoring-server bundle (the
 * one the container target builds), the remote supervisor, the model folder and the code folder,
 * each in `<workdir>/cache/<what>-<sha256 prefix>/`. A folder already there is not sent again, so
 * an unchanged model is never sent twice and a code-only change sends only the code. An upload
 * unpacks into a temporary folder that is renamed into place only once complete, so a dropped
 * connection never leaves a half artifact under a name that is used.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { hashFolder } from '../container/bundle.js';
import { collect, shellQuote, type SshConnection } from './connection.js';

export interface Shipped {
  /** Absolute path on the machine. */
  remoteDir: string;
  /** The cache entry's name, e.g. model-0123456789abcdef. */
  name: string;
  /** False when it was on the machine already. */
  sent: boolean;
}

export class RemoteArtifacts {
  /** Uploads under way, by cache entry: two deploys shipping the same content share one. */
  private static readonly inFlight = new Map<string, Promise<Shipped>>();

  constructor(
    private readonly connection: SshConnection,
    /** The absolute workdir on the machine. */
    private readonly workdir: string,
  ) {}

  get cacheDir(): string {
    return `${this.workdir}/cache`;
  }

  /** Ships `localDir` (when its content is not there yet) as `<kind>-<sha256 prefix>`. */
  async ship(kind: string, localDir: string, sha256?: string): Promise<Shipped> {
    const name = `${kind}-${(sha256 ?? (await hashFolder(localDir))).slice(0, 24)}`;
    const key = `${this.connection.where}:${this.cacheDir}/${name}`;
    let shipping = RemoteArtifacts.inFlight.get(key);
    if (shipping === undefined) {
      shipping = this.upload(name, kind, localDir).finally(() => RemoteArtifacts.inFlight.delete(key));
      RemoteArtifacts.inFlight.set(key, shipping);
    }
    return shipping;
  }

  private async upload(name: string, kind: string, localDir: string): Promise<Shipped> {
    const remoteDir = `${this.cacheDir}/${name}`;
    const present = await this.connection.exec(`test -d ${shellQuote(remoteDir)}`);
    if (present.code === 0) return { remoteDir, name, sent: false };
    const staging = `${this.cacheDir}/.incoming-${name}-${process.pid}-${randomBytes(6).toString('hex')}`;
    const script = [
      `mkdir -p ${shellQuote(staging)}`,
      `tar -xf - -C ${shellQuote(staging)}`,
      // Another deploy may have shipped the same content meanwhile: keep the first.
      `if [ -d ${shellQuote(remoteDir)} ]; then rm -rf ${shellQuote(staging)}; else mv ${shellQuote(staging)} ${shellQuote(remoteDir)}; fi`,
    ].join(' && ');
    const tar = spawn('tar', ['-C', localDir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const upload = spawn('ssh', this.connection.commandArgs(script), { stdio: ['pipe', 'pipe', 'pipe'] });
    tar.stdout.pipe(upload.stdin);
    upload.stdin.on('error', () => undefined);
    const [packed, unpacked] = await Promise.all([collect(tar, false), collect(upload)]);
    if (packed.code !== 0 || unpacked.code !== 0) {
      await this.connection.exec(`rm -rf ${shellQuote(staging)}`);
      throw new BerthError(
        'INTERNAL',
        `cannot ship ${kind} ${localDir} to ${this.connection.where}: ${(packed.stderr + unpacked.stderr).trim().slice(-1000)}`,
      );
    }
    return { remoteDir, name, sent: true };
  }

  /** Ships a folder holding one generated file (e.g. the remote supervisor). */
  async shipFile(kind: string, file: string, content: string, localCache: string): Promise<Shipped> {
    const dir = join(localCache, `${kind}-source`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, file), content);
    return this.ship(kind, dir);
  }

  /** Removes every cache entry not named in `keep`, and the workdir itself once nothing is left. */
  async prune(keep: ReadonlySet<string>): Promise<void> {
    const names = [...keep].map((name) => shellQuote(name)).join(' ');
    const script = [
      `cd ${shellQuote(this.workdir)} 2>/dev/null || exit 0`,
      `if [ -d cache ]; then cd cache && for entry in * .incoming-*; do [ -e "$entry" ] || continue; case " ${names.replaceAll("'", '')} " in *" $entry "*) ;; *) rm -rf "./$entry";; esac; done; cd ..; fi`,
      'rmdir cache run 2>/dev/null',
      `cd / && rmdir ${shellQuote(this.workdir)} 2>/dev/null`,
      'exit 0',
    ].join('; ');
    await this.connection.run(script, 'cleaning the workdir');
  }
}
