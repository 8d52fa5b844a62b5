/**
 * The content-addressed artifact store: model files and folders kept under a folder, each blob
 * named by the sha256 of its bytes (`<root>/blobs/<sha[0..2]>/<sha>`), so identical content is
 * stored once and any bit flip is caught on read. A folder is stored as its files' blobs plus a
 * manifest blob (see manifest.ts) whose sha256 addresses the folder.
 *
 * Writes go to `<root>/tmp/`, are fsynced, then renamed into place: a blob is either absent or
 * whole. Reads verify the hash before anything is served or exported.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BerthError } from '../core/errors.js';
import type { ArtifactRef, ManifestEntry } from '../core/model.js';
import { walkFolder } from './folder-walk.js';
import { fsErrorCode, pathError } from './fs-errors.js';
import { assertSha256, hashBytes, hashFile, writeHashed, type Hashed } from './hashing.js';
import { assertSafeRelativePath, decodeManifest, encodeManifest } from './manifest.js';
import { removeStaleTempFiles, tempName } from './temp-files.js';

/** Called as bytes are copied; `totalBytes` is 0 when the total is not known in advance. */
export type ProgressCallback = (doneBytes: number, totalBytes: number) => void;

export interface PutStreamOptions {
  /** The name recorded in the ArtifactRef (and used on export). */
  fileName: string;
  /** The expected size; when given, a stream of another length is refused. Default: unknown. */
  size?: number;
  onProgress?: ProgressCallback;
}

/** Opens the store at `root`, creating its folders and removing temp files left by dead writers. */
export async function openArtifactStore(root: string): Promise<ArtifactStore> {
  await mkdir(join(root, 'blobs'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await removeStaleTempFiles(join(root, 'tmp'));
  return new ArtifactStore(root);
}

function corrupt(sha256: string, what: 'served' | 'exported'): BerthError {
  return new BerthError(
    'CORRUPT_ARTIFACT',
    `artifact ${sha256} is corrupt (its bytes no longer match its sha256), so it was not ${what}: register the model again to restore it`,
  );
}

function progressCounter(total: number, onProgress: ProgressCallback | undefined): (bytes: number) => void {
  let done = 0;
  return (bytes) => {
    done += bytes;
    onProgress?.(done, total);
  };
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename itself durable; some platforms cannot open a folder, and that is not fatal.
  const handle = await open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

export class ArtifactStore {
  readonly root: string;
  /** sha256 -> stat fingerprint when last verified: re-hashing a 2 GB model on every read is costly. */
  readonly #verified = new Map<string, string>();

  /** Use `openArtifactStore`: it prepares the folders and cleans up after crashed writers. */
  constructor(root: string) {
    this.root = root;
  }

  #blobPath(sha256: string): string {
    return join(this.root, 'blobs', assertSha256(sha256).slice(0, 2), sha256);
  }

  async #openBlob(sha256: string): Promise<FileHandle> {
    try {
      return await open(this.#blobPath(sha256), 'r');
    } catch (error) {
      if (fsErrorCode(error) === 'ENOENT') {
        throw new BerthError('NOT_FOUND', `artifact ${sha256} is not in the store at ${this.root}`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async #store(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    onChunk?: (bytes: number) => void,
  ): Promise<Hashed> {
    const temp = join(this.root, 'tmp', tempName());
    try {
      const hashed = await writeHashed(source, temp, 0o444, onChunk);
      const target = this.#blobPath(hashed.sha256);
      await mkdir(dirname(target), { recursive: true });
      // Renaming over an existing blob still leaves one copy, needs no check-then-act between
      // processes, and repairs a copy that has rotted since it was stored.
      await rename(temp, target);
      await syncDirectory(dirname(target));
      this.#verified.delete(hashed.sha256);
      return hashed;
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.#blobPath(sha256)).then(
      (info) => info.isFile(),
      () => false,
    );
  }

  /** Stores a stream (an upload, say) as a file artifact. */
  async putStream(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutStreamOptions,
  ): Promise<ArtifactRef> {
    const hashed = await this.#store(source, progressCounter(options.size ?? 0, options.onProgress));
    if (options.size !== undefined && hashed.size !== options.size) {
      // The blob is whole and correctly named, just not what the caller announced: keep no orphan.
      await this.remove(hashed.sha256);
      throw new BerthError(
        'BAD_INPUT',
        `expected ${options.size} bytes for ${options.fileName}, received ${hashed.size}`,
      );
    }
    return { kind: 'file', sha256: hashed.sha256, size: hashed.size, fileName: options.fileName };
  }

  async putFile(path: string, onProgress?: ProgressCallback): Promise<ArtifactRef> {
    const info = await stat(path).catch((error: unknown) => {
      throw pathError(error, path);
    });
    if (!info.isFile()) throw new BerthError('BAD_INPUT', `${path} is not a regular file`);
    const hashed = await this.#putPath(path, progressCounter(info.size, onProgress));
    return { kind: 'file', sha256: hashed.sha256, size: hashed.size, fileName: basename(path) };
  }

  async #putPath(path: string, onChunk: (bytes: number) => void): Promise<Hashed> {
    const handle = await open(path, 'r').catch((error: unknown) => {
      throw pathError(error, path);
    });
    const stream = handle.createReadStream();
    try {
      return await this.#store(stream, onChunk);
    } finally {
      // Closes the file even when the write failed before the stream was read.
      stream.destroy();
    }
  }

  async putFolder(dir: string, onProgress?: ProgressCallback): Promise<ArtifactRef> {
    const info = await stat(dir).catch((error: unknown) => {
      throw pathError(error, dir);
    });
    if (!info.isDirectory()) throw new BerthError('BAD_INPUT', `${dir} is not a folder`);
    const files = await walkFolder(dir);
    // A name that is not a plain relative path (e.g. `..\\..\\x`, legal on Linux) could never be
    // exported or served: refuse it now, naming it, rather than register a model that cannot run.
    for (const file of files) {
      try {
        assertSafeRelativePath(file.path);
      } catch (error) {
        throw new BerthError(
          'PATH_ESCAPES',
          `cannot register the folder ${dir}: it holds a file named ${JSON.stringify(file.path)}; a model's file names may not hold backslashes, "." or ".." segments, or be absolute`,
          { cause: error },
        );
      }
    }
    const onChunk = progressCounter(
      files.reduce((sum, file) => sum + file.size, 0),
      onProgress,
    );
    const entries: ManifestEntry[] = [];
    for (const file of files) {
      const hashed = await this.#putPath(file.absolutePath, onChunk);
      entries.push({ path: file.path, sha256: hashed.sha256, size: hashed.size });
    }
    const manifest = await this.#store([encodeManifest(entries)]);
    const size = entries.reduce((sum, entry) => sum + entry.size, 0);
    return { kind: 'folder', sha256: manifest.sha256, size, fileName: basename(dir) };
  }

  /**
   * The blob's path, after checking its bytes still match its name (once per process while its
   * size, times and inode are unchanged). Serve it read-only: the store's files are immutable.
   */
  async verifiedFilePath(sha256: string): Promise<string> {
    const path = this.#blobPath(sha256);
    const info = await stat(path).catch((error: unknown) => {
      if (fsErrorCode(error) !== 'ENOENT') throw error;
      throw new BerthError('NOT_FOUND', `artifact ${sha256} is not in the store at ${this.root}`, {
        cause: error,
      });
    });
    const fingerprint = `${info.size}:${info.mtimeMs}:${info.ctimeMs}:${info.ino}`;
    if (this.#verified.get(sha256) === fingerprint) return path;
    const actual = await hashFile(path);
    if (actual.sha256 !== sha256) {
      this.#verified.delete(sha256);
      throw corrupt(sha256, 'served');
    }
    this.#verified.set(sha256, fingerprint);
    return path;
  }

  async readManifest(ref: ArtifactRef): Promise<ManifestEntry[]> {
    if (ref.kind !== 'folder')
      throw new BerthError('BAD_INPUT', `artifact ${ref.sha256} is a file, not a folder`);
    const handle = await this.#openBlob(ref.sha256);
    const bytes = await handle.readFile().finally(() => handle.close());
    if (hashBytes(bytes) !== ref.sha256) throw corrupt(ref.sha256, 'served');
    return decodeManifest(bytes, ref.sha256);
  }

  /**
   * Writes the artifact to `destDir/<fileName>` (a folder keeps its tree), verifying every file as
   * it is copied. The copy is built under a temp name in `destDir` and renamed at the end, so a
   * corrupt blob or a crash leaves nothing at the destination. Refuses with CONFLICT when the
   * destination exists. Resolves the path written. File modes are not kept (files are 0644).
   */
  async exportTo(ref: ArtifactRef, destDir: string, onProgress?: ProgressCallback): Promise<string> {
    if (ref.fileName.includes('/') || ref.fileName.includes('\\')) {
      throw new BerthError(
        'PATH_ESCAPES',
        `refusing artifact name ${JSON.stringify(ref.fileName)}: it is not a plain name`,
      );
    }
    const destination = join(destDir, assertSafeRelativePath(ref.fileName));
    const entries = ref.kind === 'folder' ? await this.readManifest(ref) : undefined;
    await mkdir(destDir, { recursive: true }).catch((error: unknown) => {
      const code = fsErrorCode(error);
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw pathError(error, destDir);
      throw new BerthError(
        'BAD_INPUT',
        `cannot write into ${destDir}: it (or a folder above it) is a file, not a folder; give a folder to write into`,
        { cause: error },
      );
    });
    if (
      await stat(destination).then(
        () => true,
        () => false,
      )
    ) {
      throw new BerthError('CONFLICT', `cannot export to ${destination}: it already exists`);
    }
    const onChunk = progressCounter(ref.size, onProgress);
    const temp = join(destDir, `.berth-export-${tempName()}`);
    try {
      if (entries === undefined) {
        await this.#copyVerified(ref.sha256, temp, onChunk);
      } else {
        await mkdir(temp);
        for (const entry of entries) {
          const target = join(temp, ...entry.path.split('/'));
          await mkdir(dirname(target), { recursive: true });
          await this.#copyVerified(entry.sha256, target, onChunk);
        }
      }
      await rename(temp, destination);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    return destination;
  }

  async #copyVerified(sha256: string, target: string, onChunk: (bytes: number) => void): Promise<void> {
    const stream = (await this.#openBlob(sha256)).createReadStream();
    const copied = await writeHashed(stream, target, 0o644, onChunk).finally(() => stream.destroy());
    if (copied.sha256 !== sha256) throw corrupt(sha256, 'exported');
  }

  /** Deletes a blob; resolves false when it was not there. Check `countArtifactReferences` first. */
  async remove(sha256: string): Promise<boolean> {
    const path = this.#blobPath(sha256);
    this.#verified.delete(sha256);
    try {
      await rm(path);
      return true;
    } catch (error) {
      if (fsErrorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }
}
