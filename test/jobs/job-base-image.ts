/**
 * The base image for container jobs in the tests, built on the container tests' base image (this
 * machine's Node.js and its libraries, imported because no registry can be reached):
 * `berth-test-jobs:node20-sh` adds a shell, this machine's dash as /bin/sh, which a job's command
 * runs under (it needs only the libc already there). A Python job gets Python from the target's
 * Python layer, as it would on node:20-bookworm-slim.
 *
 * Built once through the Engine API and tagged; an existing tag is reused.
 */
import { realpathSync } from 'node:fs';
import { ensureTestBaseImage, testEngine } from '../fixtures/docker-base-image.js';
import { tarStream, type TarEntry } from '../../src/targets/container/tar.js';

export const jobTestBaseImage = 'berth-test-jobs:node20-sh';

async function build(tag: string, from: string, copy: TarEntry[]): Promise<string> {
  const engine = testEngine();
  const found = await engine.listImages({ filters: JSON.stringify({ reference: [tag] }) });
  if (found.length > 0) return tag;
  const dockerfile = [`FROM ${from}`, 'COPY root/ /', ''].join('\n');
  const stream = await engine.buildImage(
    tarStream([
      { path: 'Dockerfile', kind: 'data', data: dockerfile },
      { path: 'root', kind: 'dir' },
      ...copy,
    ]),
    { t: tag, rm: true, forcerm: true, version: '1' } as object,
  );
  const output = await new Promise<{ error?: string }[]>((resolve, reject) =>
    engine.modem.followProgress(stream, (error: Error | null, messages: { error?: string }[]) =>
      error === null ? resolve(messages) : reject(error),
    ),
  );
  const failure = output.find((message) => message.error !== undefined);
  if (failure !== undefined) throw new Error(`building ${tag}: ${failure.error}`);
  return tag;
}

function shell(): TarEntry[] {
  return [
    { path: 'root/bin', kind: 'dir' },
    { path: 'root/bin/sh', kind: 'file', source: realpathSync('/bin/sh'), mode: 0o755 },
  ];
}

export async function ensureJobTestBaseImage(): Promise<string> {
  return build(jobTestBaseImage, await ensureTestBaseImage(), shell());
}
