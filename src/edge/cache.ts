/**
 * The device's cache folder, which is all a device needs to serve with no link:
 *
 * - `chunks/<sha256>/<index>`: chunks of a bundle being fetched, each written only once its own
 *   sha256 matched, so a fetch cut short (device killed, link lost) resumes where it stopped;
 * - `bundles/<sha256>/`: a bundle unpacked, moved into place whole once the archive's sha256 and
 *   size matched, so a folder there is always complete;
 * - `current.json`: the desired state being served; `twin.json`: the last twin (counters survive
 *   restarts).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { desiredStateSchema, twinSchema, type DesiredState, type Twin } from '../targets/edge/index.js';

export class DeviceCache {
  constructor(readonly dir: string) {}

  chunksDir(sha256: string): string {
    return join(this.dir, 'chunks', sha256);
  }

  bundleDir(sha256: string): string {
    return join(this.dir, 'bundles', sha256);
  }

  dataDir(): string {
    return join(this.dir, 'data');
  }

  hasBundle(sha256: string): boolean {
    return existsSync(this.bundleDir(sha256));
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'bundles'), { recursive: true });
    await mkdir(join(this.dir, 'chunks'), { recursive: true });
  }

  /** Writes `text` to `name` through a temporary file, so a crash never leaves half a file. */
  private async writeAtomic(name: string, text: string): Promise<void> {
    const path = join(this.dir, name);
    const staging = `${path}.${process.pid}.tmp`;
    await writeFile(staging, text);
    await rename(staging, path);
  }

  private async readJson<S extends z.ZodType>(name: string, schema: S): Promise<z.output<S> | undefined> {
    try {
      const parsed = schema.safeParse(JSON.parse(await readFile(join(this.dir, name), 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  readCurrent(): Promise<DesiredState | undefined> {
    return this.readJson('current.json', desiredStateSchema);
  }

  writeCurrent(desired: DesiredState | undefined): Promise<void> {
    if (desired === undefined) return rm(join(this.dir, 'current.json'), { force: true });
    return this.writeAtomic('current.json', `${JSON.stringify(desired, null, 2)}\n`);
  }

  readTwin(): Promise<Twin | undefined> {
    return this.readJson('twin.json', twinSchema);
  }

  writeTwin(twin: Twin): Promise<void> {
    return this.writeAtomic('twin.json', `${JSON.stringify(twin)}\n`);
  }

  /**
   * Drops every unpacked bundle but those in `keep`. Partial fetches stay: one may belong to a
   * version the device has not heard of since it restarted, and resumes when it does.
   */
  async prune(keep: readonly string[]): Promise<void> {
    for (const entry of await readdir(join(this.dir, 'bundles')).catch(() => [] as string[])) {
      if (!keep.includes(entry)) await rm(join(this.dir, 'bundles', entry), { recursive: true, force: true });
    }
  }
}
