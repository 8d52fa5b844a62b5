/**
 * Fetches a bundle over MQTT: one retained message per chunk, each checked against the sha256 the
 * manifest lists before it is written to the cache, then the whole archive checked against the
 * manifest's size and sha256 before it is unpacked. Chunks already in the cache are not asked for
 * again, so a fetch cut short resumes. A chunk that does not match refuses the bundle
 * (CORRUPT_ARTIFACT); no chunk for `stallMs` gives up for now (NOT_READY) and keeps what came.
 *
 * Why MQTT and not HTTP from the control plane: the broker is the one address a device already
 * reaches (one port, one TLS setup, often the only way out of a plant network), and the retained
 * chunks stay on it, so a device that comes online after the control plane went away still gets
 * the bundle.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { BerthError } from '../core/errors.js';
import type { BundleManifest, Topics } from '../targets/edge/index.js';
import type { DeviceCache } from './cache.js';
import { extractBundle } from './untar.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function chunksOnDisk(dir: string, manifest: BundleManifest): Promise<Set<number>> {
  const have = new Set<number>();
  for (const name of await readdir(dir)) {
    const index = Number(name);
    const expected = manifest.chunks[index];
    if (!Number.isInteger(index) || expected === undefined) continue;
    if (sha256(await readFile(join(dir, name))) === expected) have.add(index);
    else await rm(join(dir, name), { force: true });
  }
  return have;
}

function receive(
  client: MqttClient,
  topics: Topics,
  manifest: BundleManifest,
  dir: string,
  missing: number[],
  stallMs: number,
  onChunk: (have: number) => void,
): Promise<void> {
  const short = manifest.sha256.slice(0, 12);
  const wanted = new Map(missing.map((index) => [topics.chunk(manifest.sha256, index), index]));
  return new Promise<void>((resolvePromise, rejectPromise) => {
    let writes = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (error?: BerthError): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.off('message', onMessage);
      client.unsubscribe([...wanted.keys()]);
      if (error === undefined) void writes.then(resolvePromise, rejectPromise);
      else rejectPromise(error);
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(new BerthError('NOT_READY', `bundle ${short}: no chunk came for ${stallMs} ms`)),
        stallMs,
      );
    };
    const onMessage = (topic: string, payload: Buffer): void => {
      const index = wanted.get(topic);
      if (index === undefined) return;
      if (payload.length === 0) {
        finish(new BerthError('NOT_FOUND', `bundle ${short} is no longer offered by the broker`));
        return;
      }
      if (sha256(payload) !== manifest.chunks[index]) {
        finish(
          new BerthError(
            'CORRUPT_ARTIFACT',
            `bundle ${short}: chunk ${index} (${payload.length} bytes) does not match its sha256 (corrupt or truncated)`,
          ),
        );
        return;
      }
      wanted.delete(topic);
      writes = writes.then(() => writeFile(join(dir, String(index)), payload));
      onChunk(manifest.chunks.length - wanted.size);
      arm();
      if (wanted.size === 0) finish();
    };
    client.on('message', onMessage);
    arm();
    client.subscribe([...wanted.keys()], { qos: 1 }, (error) => {
      if (error) finish(new BerthError('NOT_READY', `bundle ${short}: cannot subscribe: ${error.message}`));
    });
  });
}

/** The bundle's folder in the cache, fetched and unpacked first when it is not there yet. */
export async function fetchBundle(
  client: MqttClient,
  topics: Topics,
  manifest: BundleManifest,
  cache: DeviceCache,
  stallMs: number,
  onChunk: (have: number, of: number) => void = () => undefined,
): Promise<string> {
  const target = cache.bundleDir(manifest.sha256);
  if (cache.hasBundle(manifest.sha256)) return target;
  const dir = cache.chunksDir(manifest.sha256);
  await mkdir(dir, { recursive: true });
  const have = await chunksOnDisk(dir, manifest);
  const missing = manifest.chunks.map((_, index) => index).filter((index) => !have.has(index));
  if (missing.length > 0)
    await receive(client, topics, manifest, dir, missing, stallMs, (count) =>
      onChunk(count, manifest.chunks.length),
    );
  const parts = await Promise.all(manifest.chunks.map((_, index) => readFile(join(dir, String(index)))));
  const archive = Buffer.concat(parts);
  if (archive.length !== manifest.sizeBytes || sha256(archive) !== manifest.sha256) {
    await rm(dir, { recursive: true, force: true });
    throw new BerthError(
      'CORRUPT_ARTIFACT',
      `bundle ${manifest.sha256.slice(0, 12)}: ${archive.length} bytes do not match the manifest's size and sha256`,
    );
  }
  const staging = join(cache.dir, 'bundles', `.staging-${manifest.sha256}-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  try {
    await extractBundle(archive, staging);
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  return target;
}
