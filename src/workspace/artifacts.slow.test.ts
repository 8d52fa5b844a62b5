// Crash safety: a writer killed mid-blob leaves no visible artifact, and the next open cleans up
// after it (but never under a live writer).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../../test/workspace/fixtures.js';
import { openArtifactStore } from './artifacts.js';

const child = fileURLToPath(new URL('../../test/workspace/put-stream-child.js', import.meta.url));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

void describe('artifact store crash safety', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await makeTempDir('crash')));
  after(() => cleanup());

  void test('SIGKILL mid-write leaves no blob, and reopening removes the temp file', async () => {
    const root = join(dir, 'store');
    const writer = spawn(process.execPath, [child, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = once(writer, 'exit');
    let written = 0;
    writer.stdout.setEncoding('utf8');
    // Keep reading (never close the pipe): a child writing to a closed pipe would die of EPIPE
    // before the SIGKILL this test is about.
    await new Promise<void>((resolve, reject) => {
      writer.stdout.on('data', (text: string) => {
        for (const match of text.matchAll(/progress (\d+)/g)) written = Math.max(written, Number(match[1]));
        if (written >= 20 * 1024 * 1024) resolve();
      });
      writer.once('exit', () =>
        reject(new Error(`the writer exited before reaching 20 MiB (${written} bytes)`)),
      );
    });
    assert.ok(written >= 20 * 1024 * 1024, 'the child reported progress before exiting');

    // A second store opened while the writer lives must not take its temp file away.
    await openArtifactStore(root);
    const temps = await readdir(join(root, 'tmp'));
    assert.equal(temps.length, 1);

    writer.kill('SIGKILL');
    const [code, signal] = await exited;
    assert.equal(code, null);
    assert.equal(signal, 'SIGKILL');

    assert.deepEqual(await filesUnder(join(root, 'blobs')), []);
    const partial = await stat(join(root, 'tmp', temps[0] ?? ''));
    assert.ok(partial.size < 200 * 1024 * 1024, 'the kill landed mid-write');

    const reopened = await openArtifactStore(root);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    assert.deepEqual(await filesUnder(join(root, 'blobs')), []);
    // The store still works after the crash.
    const ref = await reopened.putStream([Buffer.from('after the crash')], { fileName: 'a' });
    assert.equal(await reopened.has(ref.sha256), true);
  });
});
