/**
 * Model files travel from the submitting machine to the workers through Redis, content-addressed.
 *
 * Each blob (a model file, or each file of a folder plus the folder's manifest) is one Redis hash
 * `<prefix>:artifact:<sha256>` with fields `c0..cN` (1 MiB chunks), `size`, `chunks`, and
 * `complete` written last: a hash without `complete` is a half upload and is written again. The
 * submitter uploads a blob only when absent, so a model is shipped once per Redis, whatever the
 * number of jobs. Every byte is hashed on the way up (the submitter's copy must match its sha256)
 * and on the way down (a worker refuses a blob whose bytes do not match, CORRUPT_ARTIFACT).
 *
 * A worker keeps what it downloaded under `<cacheDir>/models/<sha256>/` and re-hashes it before
 * each job uses it; a cached copy that no longer matches is deleted and downloaded again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Redis } from 'ioredis';
import { BerthError } from '../../core/errors.js';
import type { ManifestEntry } from '../../core/model.js';
import { walkFolder } from '../../workspace/folder-walk.js';
import { hashBytes, hashFile } from '../../workspace/hashing.js';
import { assertSafeRelativePath, assertSha256 } from '../../workspace/index.js';
import { decodeManifest, encodeManifest } from '../../workspace/manifest.js';
import { artifactKey } from './names.js';

const chunkBytes = 1 << 20;
/** Blobs unused for a week leave Redis; every submit of a job that uses one extends it. */
const ttlSeconds = 7 * 24 * 60 * 60;

/** The model as the task names it. */
export interface ModelBlobRef {
  sha256: string;
  kind: 'file' | 'folder';
  fileName: string;
  modelFile: string | undefined;
}

/** Where the verified files are on the submitting machine (BatchProgramSpec's `model.local`). */
export interface LocalModelFiles {
  modelDir: string;
}

function corrupt(sha256: string, where: string): BerthError {
  return new BerthError(
    'CORRUPT_ARTIFACT',
    `model artifact ${sha256} is corrupt ${where} (its bytes do not match its sha256), so it was not used`,
  );
}

function plainName(fileName: string): string {
  if (fileName.includes('/') || fileName.includes('\\')) {
    throw new BerthError(
      'PATH_ESCAPES',
      `refusing artifact name ${JSON.stringify(fileName)}: not a plain name`,
    );
  }
  return assertSafeRelativePath(fileName);
}

// ---------------------------------------------------------------------------------------------
// Submitter side
// ---------------------------------------------------------------------------------------------

async function isComplete(redis: Redis, key: string): Promise<boolean> {
  return (await redis.hexists(key, 'complete')) === 1;
}

async function uploadBlob(
  redis: Redis,
  prefix: string,
  sha256: string,
  source: () => AsyncIterable<Buffer>,
): Promise<boolean> {
  const key = artifactKey(prefix, assertSha256(sha256));
  if (await isComplete(redis, key)) {
    await redis.expire(key, ttlSeconds);
    return false;
  }
  // No DEL first: a second submitter may be uploading the same blob, and content addressing makes
  // its chunks identical to ours, so overwriting is harmless while deleting would not be.
  const hash = createHash('sha256');
  let chunks = 0;
  let size = 0;
  for await (const chunk of source()) {
    hash.update(chunk);
    await redis.hset(key, `c${chunks}`, chunk);
    chunks += 1;
    size += chunk.length;
  }
  if (hash.digest('hex') !== sha256) throw corrupt(sha256, 'on the submitting machine');
  await redis.hset(key, 'size', size, 'chunks', chunks);
  await redis.hset(key, 'complete', 1);
  await redis.expire(key, ttlSeconds);
  return true;
}

function fileChunks(path: string): () => AsyncIterable<Buffer> {
  return () => createReadStream(path, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>;
}

/**
 * Uploads the model's blobs that Redis lacks; resolves how many bytes were uploaded (0: all were
 * there already). Reads the files from `local`, checking them against their sha256 as it goes.
 */
export async function shipModel(
  redis: Redis,
  prefix: string,
  model: ModelBlobRef,
  local: LocalModelFiles,
): Promise<number> {
  if (model.kind === 'file') {
    const path = join(local.modelDir, plainName(model.fileName));
    const uploaded = await uploadBlob(redis, prefix, model.sha256, fileChunks(path));
    return uploaded ? (await stat(path)).size : 0;
  }
  const files = await walkFolder(local.modelDir);
  const entries: ManifestEntry[] = [];
  for (const file of files) {
    entries.push({ path: file.path, sha256: (await hashFile(file.absolutePath)).sha256, size: file.size });
  }
  const manifest = encodeManifest(entries);
  if (hashBytes(manifest) !== model.sha256) throw corrupt(model.sha256, 'on the submitting machine');
  let bytes = 0;
  for (const [index, file] of files.entries()) {
    const entry = entries[index];
    if (entry && (await uploadBlob(redis, prefix, entry.sha256, fileChunks(file.absolutePath))))
      bytes += entry.size;
  }
  // The manifest goes last: a worker that finds it finds every file it lists.
  async function* manifestChunks(): AsyncIterable<Buffer> {
    yield manifest;
  }
  if (await uploadBlob(redis, prefix, model.sha256, manifestChunks)) bytes += manifest.length;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Worker side
// ---------------------------------------------------------------------------------------------

async function* blobChunks(redis: Redis, prefix: string, sha256: string): AsyncIterable<Buffer> {
  const key = artifactKey(prefix, assertSha256(sha256));
  const [complete, chunks] = await redis.hmget(key, 'complete', 'chunks');
  if (complete !== '1' || chunks == null) {
    throw new BerthError(
      'NOT_FOUND',
      `model artifact ${sha256} is not in Redis (the submitter uploads it before it enqueues work; it may have expired)`,
    );
  }
  for (let index = 0; index < Number(chunks); index += 1) {
    const chunk = await redis.hgetBuffer(key, `c${index}`);
    if (chunk === null) throw corrupt(sha256, 'in Redis (a chunk is missing)');
    yield chunk;
  }
}

async function downloadTo(redis: Redis, prefix: string, sha256: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const hash = createHash('sha256');
  const file = await open(target, 'wx', 0o444);
  try {
    for await (const chunk of blobChunks(redis, prefix, sha256)) {
      hash.update(chunk);
      await file.write(chunk);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  if (hash.digest('hex') !== sha256) throw corrupt(sha256, 'in Redis');
}

async function downloadBytes(redis: Redis, prefix: string, sha256: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of blobChunks(redis, prefix, sha256)) parts.push(chunk);
  const bytes = Buffer.concat(parts);
  if (hashBytes(bytes) !== sha256) throw corrupt(sha256, 'in Redis');
  return bytes;
}

/** The manifest of a cached folder is kept beside it, so the cache can be re-verified offline. */
const manifestFileName = '.berth-manifest.json';

async function cachedCopyIsIntact(dir: string, model: ModelBlobRef): Promise<boolean> {
  try {
    if (model.kind === 'file') return (await hashFile(join(dir, model.fileName))).sha256 === model.sha256;
    const manifest = await readFile(join(dir, manifestFileName));
    if (hashBytes(manifest) !== model.sha256) return false;
    for (const entry of decodeManifest(manifest, model.sha256)) {
      const actual = await hashFile(join(dir, model.fileName, ...entry.path.split('/')));
      if (actual.sha256 !== entry.sha256) return false;
    }
    return true;
  } catch {
    return false;
  }
}

export interface FetchedModel {
  /** The folder a scoring script sees as its model folder. */
  modelDir: string;
  /** The ONNX file to serve, when there is one. */
  modelFile: string | undefined;
  /** 'cache': verified copy reused; 'downloaded': fetched now; 'repaired': cached copy was corrupt, fetched again. */
  source: 'cache' | 'downloaded' | 'repaired';
}

/** Makes the model available under `cacheDir`, verified; downloads it only when the cache lacks a good copy. */
export async function fetchModel(
  redis: Redis,
  prefix: string,
  cacheDir: string,
  model: ModelBlobRef,
): Promise<FetchedModel> {
  const modelsDir = join(cacheDir, 'models');
  const dir = join(modelsDir, assertSha256(model.sha256));
  const fileName = plainName(model.fileName);
  const located = (source: FetchedModel['source']): FetchedModel => {
    const modelDir = model.kind === 'folder' ? join(dir, fileName) : dir;
    const modelFile =
      model.kind === 'file'
        ? join(dir, fileName)
        : model.modelFile && join(modelDir, assertSafeRelativePath(model.modelFile));
    return { modelDir, modelFile, source };
  };
  const present = await stat(dir).then(
    () => true,
    () => false,
  );
  if (present) {
    if (await cachedCopyIsIntact(dir, model)) return located('cache');
    await rm(dir, { recursive: true, force: true });
  }

  const staging = join(modelsDir, `.staging-${randomUUID()}`);
  try {
    if (model.kind === 'file') {
      await downloadTo(redis, prefix, model.sha256, join(staging, fileName));
    } else {
      const manifest = await downloadBytes(redis, prefix, model.sha256);
      for (const entry of decodeManifest(manifest, model.sha256)) {
        await downloadTo(redis, prefix, entry.sha256, join(staging, fileName, ...entry.path.split('/')));
      }
      await writeFile(join(staging, manifestFileName), manifest, { mode: 0o444 });
    }
    await rename(staging, dir).catch((error: NodeJS.ErrnoException) => {
      // Another slot of this worker fetched the same model first: theirs is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return located(present ? 'repaired' : 'downloaded');
}
