/**
 * What a deployment runs, shipped to the machine once per content: the scoring-server bundle (the
 * one the container target builds), the remote supervisor, the model folder and the code folder,
 * each in `<workdir>/cache/<what>-<sha256 prefix>/`. A folder already there is not sent again, so
 * an unchanged model is never sent twice and a code-only change sends only the code.
 *
 * An upload is a tar file packed here (kept until it is on the machine) and appended to
 * `<cache>/.incoming-<name>.tar` there: a connection cut mid-way leaves that partial file, and the
 * next ship of the same content sends only the bytes still missing. Before anything is unpacked
 * the machine checks the whole file's sha256 against the tar's; a file that does not match is
 * deleted and sent again from the start, so a half or damaged upload is never used. The unpacked
 * folder is renamed into place only once complete.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { hashFile } from '../../workspace/hashing.js';
import { BerthError } from '../../core/errors.js';
import { hashFolder } from '../container/bundle.js';
import { collect, shellQuote, type CommandResult, type SshConnection } from './connection.js';

export interface Shipped {
  /** Absolute path on the machine. */
  remoteDir: string;
  /** The cache entry's name, e.g. model-0123456789abcdef. */
  name: string;
  /** False when it was on the machine already. */
  sent: boolean;
  /** Bytes a cut-off earlier upload had already left there (0: sent whole, or not sent). */
  resumedFrom: number;
}

/** The exit code of the install script when the upload's sha256 is not the tar's. */
const corruptExit = 86;
/** The exit code when the bytes stopped coming mid-way. */
const cutExit = 75;

/**
 * Checks the uploaded tar's sha256 before anything is unpacked from it (a half or damaged upload is
 * deleted, never used), unpacks it in a temporary folder and renames that into place.
 */
function installScript(partial: string, sha256: string, remoteDir: string, name: string): string {
  const q = shellQuote;
  const staging = `${dirname(remoteDir)}/.unpacking-${name}-${randomBytes(6).toString('hex')}`;
  return [
    `actual=$(sha256sum ${q(partial)} | cut -d' ' -f1)`,
    `if [ "$actual" != ${q(sha256)} ]; then rm -f ${q(partial)}; exit ${corruptExit}; fi`,
    `mkdir -p ${q(staging)} && tar -xf ${q(partial)} -C ${q(staging)} || { rm -rf ${q(staging)}; exit 1; }`,
    // Another deploy may have shipped the same content meanwhile: keep the first.
    `if [ -d ${q(remoteDir)} ]; then rm -rf ${q(staging)}; else mv ${q(staging)} ${q(remoteDir)}; fi`,
    `rm -f ${q(partial)}`,
  ].join('; ');
}

export class RemoteArtifacts {
  /** Uploads under way, by cache entry: two deploys shipping the same content share one. */
  private static readonly inFlight = new Map<string, Promise<Shipped>>();

  constructor(
    private readonly connection: SshConnection,
    /** The absolute workdir on the machine. */
    private readonly workdir: string,
    /** A folder here for the packed uploads (the target's cacheDir). */
    private readonly localCache: string,
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
    const partial = `${this.cacheDir}/.incoming-${name}.tar`;
    const q = shellQuote;
    // One round trip: already there, or how much of a cut-off upload is.
    const state = (
      await this.connection.run(
        `if [ -d ${q(remoteDir)} ]; then echo present; else mkdir -p ${q(this.cacheDir)} && (stat -c %s ${q(partial)} 2>/dev/null || echo 0); fi`,
        'looking for an artifact',
      )
    ).trim();
    if (state === 'present') return { remoteDir, name, sent: false, resumedFrom: 0 };
    const tarFile = await this.packed(name, localDir);
    const { sha256, size } = await hashFile(tarFile);
    const have = Number(state);
    // A partial upload whose bytes do not add up to this tar is sent again from the start, once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const offset = attempt === 0 && Number.isInteger(have) && have <= size ? have : 0;
      const result = await this.send(
        tarFile,
        offset,
        partial,
        installScript(partial, sha256, remoteDir, name),
      );
      if (result.code === 0) {
        await rm(tarFile, { force: true });
        return { remoteDir, name, sent: true, resumedFrom: offset };
      }
      if (result.code === corruptExit) continue;
      const why = result.stderr.trim().slice(-1000);
      if (result.code === 255 || result.code === cutExit || result.code === null) {
        throw new BerthError(
          'NOT_READY',
          `the upload of ${kind} ${localDir} to ${this.connection.where} was cut off (the next ship resumes it): ${why}`,
        );
      }
      throw new BerthError(
        'INTERNAL',
        `cannot unpack ${kind} ${localDir} on ${this.connection.where}: ${why}`,
      );
    }
    throw new BerthError(
      'CORRUPT_ARTIFACT',
      `${kind} ${localDir} arrived on ${this.connection.where} with bytes that do not match its sha256, twice: it was not used`,
    );
  }

  /** The folder as one tar file here, kept until it is on the machine so a dropped upload can resume. */
  private async packed(name: string, localDir: string): Promise<string> {
    const dir = join(this.localCache, 'uploads');
    const file = join(dir, `${name}.tar`);
    if (existsSync(file)) return file;
    await mkdir(dir, { recursive: true });
    const staging = `${file}.${process.pid}-${randomBytes(6).toString('hex')}`;
    const tar = await collect(
      spawn('tar', ['-C', localDir, '-cf', staging, '.'], { stdio: ['ignore', 'ignore', 'pipe'] }),
    );
    if (tar.code !== 0) {
      await rm(staging, { force: true });
      throw new BerthError('INTERNAL', `cannot pack ${localDir}: ${tar.stderr.trim()}`);
    }
    await rename(staging, file);
    return file;
  }

  /** Appends the tar's bytes from `offset` on to the partial file there, then runs `then` (same session). */
  private async send(tarFile: string, offset: number, partial: string, then: string): Promise<CommandResult> {
    const redirect = offset === 0 ? '>' : '>>';
    await this.connection.reopen();
    const upload = spawn(
      'ssh',
      this.connection.commandArgs(`cat ${redirect} ${shellQuote(partial)} || exit ${cutExit}; ${then}`),
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    upload.stdin.on('error', () => undefined);
    createReadStream(tarFile, { start: offset }).pipe(upload.stdin);
    return collect(upload);
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
