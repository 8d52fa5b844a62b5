/**
 * A deployment as an edge bundle: one gzip'd tar holding the scoring server bundle every target
 * runs (`server/`: see ../container/bundle.ts), the model (`model/`), the scoring code (`code/`)
 * and the scoring options with paths relative to the bundle (`scoring.json`, the function
 * package's: see ../function/package.ts), and the deployment's environment variables
 * (`environment.json`). The tar has fixed times and sorted entries, and gzip
 * writes no time, so the same deployment gives the same bytes and the same sha256.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { folderEntries } from '../container/build-context.js';
import { serverBundle } from '../container/bundle.js';
import { tarStream, type TarEntry } from '../container/tar.js';
import { functionScoringOptions } from '../function/package.js';
import type { ResolvedDeployment } from '../target.js';
import type { BundleManifest } from './protocol.js';

export interface EdgeBundle {
  /** The `.tar.gz` file, named by its sha256. */
  file: string;
  manifest: BundleManifest;
}

async function entriesFor(spec: ResolvedDeployment, cacheDir: string): Promise<TarEntry[]> {
  const server = await serverBundle(join(cacheDir, 'server'));
  const entries: TarEntry[] = [
    { path: 'server', kind: 'dir' },
    ...(await folderEntries(server.dir, 'server')),
    { path: 'model', kind: 'dir' },
    ...(await folderEntries(spec.model.modelDir, 'model')),
  ];
  if (spec.codeDir !== undefined) {
    entries.push({ path: 'code', kind: 'dir' }, ...(await folderEntries(spec.codeDir, 'code')));
  }
  entries.push(
    {
      path: 'scoring.json',
      kind: 'data',
      data: `${JSON.stringify(functionScoringOptions(spec), null, 2)}\n`,
    },
    {
      path: 'environment.json',
      kind: 'data',
      data: `${JSON.stringify(
        {
          BERTH_ENDPOINT: spec.endpointName,
          BERTH_DEPLOYMENT: spec.deploymentName,
          ...spec.environmentVariables,
        },
        null,
        2,
      )}\n`,
    },
  );
  return entries;
}

/** The sha256 of each `chunkBytes` slice of `file`. */
async function chunkHashes(file: string, sizeBytes: number, chunkBytes: number): Promise<string[]> {
  const handle = await open(file, 'r');
  try {
    const hashes: string[] = [];
    const buffer = Buffer.alloc(chunkBytes);
    for (let offset = 0; offset < sizeBytes; offset += chunkBytes) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, offset);
      hashes.push(createHash('sha256').update(buffer.subarray(0, bytesRead)).digest('hex'));
    }
    return hashes;
  } finally {
    await handle.close();
  }
}

/** Writes the bundle of `spec` under `workDir/bundles/` and describes it. */
export async function writeEdgeBundle(
  spec: ResolvedDeployment,
  workDir: string,
  chunkBytes: number,
): Promise<EdgeBundle> {
  const dir = join(workDir, 'bundles');
  await mkdir(dir, { recursive: true });
  const staging = join(dir, `staging-${process.pid}-${Date.now()}.tar.gz`);
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      tarStream(await entriesFor(spec, join(workDir, 'cache'))),
      createGzip(),
      tap,
      createWriteStream(staging),
    );
  } catch (error) {
    await rm(staging, { force: true });
    throw error;
  }
  const sha256 = hash.digest('hex');
  const file = join(dir, `${sha256}.tar.gz`);
  await rename(staging, file);
  const { size } = await stat(file);
  return {
    file,
    manifest: { sha256, sizeBytes: size, chunkBytes, chunks: await chunkHashes(file, size, chunkBytes) },
  };
}
