import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ArtifactRef } from '../core/model.js';
import type { ArtifactStore } from '../workspace/index.js';

/**
 * Servers need a model as named files in a folder (a scoring script opens `ctx.modelDir/…`), while
 * the artifact store keeps anonymous blobs. A cache folder per sha256 bridges them: exported once,
 * verified while exported, renamed into place so a half-written cache entry is never seen.
 */
export async function materialize(
  artifacts: ArtifactStore,
  artifact: ArtifactRef,
  cacheDir: string,
): Promise<{ dir: string; filePath: string }> {
  const dir = join(cacheDir, artifact.sha256);
  const filePath = join(dir, artifact.fileName);
  const ready = await stat(filePath).then(
    () => true,
    () => false,
  );
  if (ready) return { dir: artifact.kind === 'folder' ? filePath : dir, filePath };

  const staging = join(cacheDir, `.staging-${randomUUID()}`);
  await mkdir(staging, { recursive: true });
  try {
    await artifacts.exportTo(artifact, staging);
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another process materialised the same artifact first: theirs is as good as ours.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { dir: artifact.kind === 'folder' ? filePath : dir, filePath };
}
