import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chmod, mkdir, open, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { makeTempDir } from '../../test/workspace/fixtures.js';
import { openArtifactStore, type ArtifactStore } from './artifacts.js';
import { encodeManifest } from './manifest.js';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

async function blobCount(root: string): Promise<number> {
  let count = 0;
  for (const shard of await readdir(join(root, 'blobs')))
    count += (await readdir(join(root, 'blobs', shard))).length;
  return count;
}

async function flipByte(path: string, at: number): Promise<void> {
  await chmod(path, 0o644);
  const handle = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  byte[0] = (byte[0] ?? 0) ^ 0xff;
  await handle.write(byte, 0, 1, at);
  await handle.close();
}

async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'nested', 'deeper'), { recursive: true });
  await writeFile(join(root, 'model.onnx'), 'weights');
  await writeFile(join(root, 'nested', 'vocab.txt'), 'a\nb\n');
  await writeFile(join(root, 'nested', 'deeper', 'copy.onnx'), 'weights');
  await writeFile(join(root, 'empty.bin'), '');
}

void describe('ArtifactStore', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: ArtifactStore;
  let root: string;
  before(async () => {
    ({ dir, cleanup } = await makeTempDir('artifacts'));
    root = join(dir, 'store');
    store = await openArtifactStore(root);
  });
  after(() => cleanup());

  void test('a file is stored under its sha256, once, with progress reported', async () => {
    const source = join(dir, 'model.bin');
    await writeFile(source, 'hello model');
    const seen: [number, number][] = [];
    const ref = await store.putFile(source, (done, total) => seen.push([done, total]));
    assert.deepEqual(ref, { kind: 'file', sha256: sha('hello model'), size: 11, fileName: 'model.bin' });
    assert.deepEqual(seen.at(-1), [11, 11]);
    const again = await store.putFile(source);
    assert.equal(again.sha256, ref.sha256);
    const path = await store.verifiedFilePath(ref.sha256);
    assert.equal(path, join(root, 'blobs', ref.sha256.slice(0, 2), ref.sha256));
    assert.equal(await readFile(path, 'utf8'), 'hello model');
    assert.equal((await readdir(join(root, 'blobs', ref.sha256.slice(0, 2)))).length, 1);
    assert.equal(await store.has(ref.sha256), true);
  });

  void test('a folder is stored as its files plus a canonical manifest, and exported identically', async () => {
    const tree = join(dir, 'tree');
    await makeTree(tree);
    const before = await blobCount(root);
    const ref = await store.putFolder(tree);
    assert.equal(ref.kind, 'folder');
    assert.equal(ref.fileName, 'tree');
    assert.equal(ref.size, 7 + 4 + 7 + 0);
    const manifest = await store.readManifest(ref);
    assert.deepEqual(
      manifest.map((entry) => entry.path),
      ['empty.bin', 'model.onnx', 'nested/deeper/copy.onnx', 'nested/vocab.txt'],
    );
    assert.equal(ref.sha256, sha(encodeManifest(manifest)));
    // 'weights' appears twice but is one blob: 3 file blobs + the manifest.
    assert.equal((await blobCount(root)) - before, 4);
    assert.equal((await store.putFolder(tree)).sha256, ref.sha256);

    const out = join(dir, 'out');
    const written = await store.exportTo(ref, out);
    assert.equal(written, join(out, 'tree'));
    assert.equal(await readFile(join(written, 'nested', 'deeper', 'copy.onnx'), 'utf8'), 'weights');
    assert.equal(await readFile(join(written, 'nested', 'vocab.txt'), 'utf8'), 'a\nb\n');
    assert.equal((await stat(join(written, 'empty.bin'))).size, 0);
    const reimported = await store.putFolder(written);
    assert.equal(reimported.sha256, ref.sha256);
    await assert.rejects(store.exportTo(ref, out), { code: 'CONFLICT' });
  });

  void test('a file exports to destDir/<fileName>', async () => {
    const source = join(dir, 'single.onnx');
    await writeFile(source, 'single');
    const ref = await store.putFile(source);
    const seen: number[] = [];
    const written = await store.exportTo(ref, join(dir, 'single-out'), (done) => seen.push(done));
    assert.equal(written, join(dir, 'single-out', 'single.onnx'));
    assert.equal(await readFile(written, 'utf8'), 'single');
    assert.equal(seen.at(-1), 6);
  });

  void test('a stream is stored, and a length other than announced is refused', async () => {
    const ref = await store.putStream([Buffer.from('abc'), Buffer.from('def')], {
      fileName: 'up.bin',
      size: 6,
    });
    assert.equal(ref.sha256, sha('abcdef'));
    await assert.rejects(store.putStream([Buffer.from('xyz-unique')], { fileName: 'up.bin', size: 99 }), {
      code: 'BAD_INPUT',
    });
    assert.equal(await store.has(sha('xyz-unique')), false);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  void test('a flipped byte is caught on read and on export, and nothing is written', async () => {
    const source = join(dir, 'victim.onnx');
    await writeFile(source, 'precious weights');
    const ref = await store.putFile(source);
    await flipByte(join(root, 'blobs', ref.sha256.slice(0, 2), ref.sha256), 3);
    await assert.rejects(store.verifiedFilePath(ref.sha256), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CORRUPT_ARTIFACT');
      assert.match(error.message, new RegExp(`${ref.sha256}.*not served`));
      return true;
    });
    const out = join(dir, 'corrupt-out');
    await assert.rejects(store.exportTo(ref, out), { code: 'CORRUPT_ARTIFACT' });
    assert.deepEqual(await readdir(out), []);
    // Storing the content again repairs the blob.
    await store.putFile(source);
    assert.ok(await store.verifiedFilePath(ref.sha256));
  });

  void test('a corrupt file inside a folder stops the export, and nothing is written', async () => {
    const tree = join(dir, 'tree-corrupt');
    await mkdir(tree);
    await writeFile(join(tree, 'a.txt'), 'first file, fine');
    await writeFile(join(tree, 'b.txt'), 'second file, to be damaged');
    const ref = await store.putFolder(tree);
    const damaged = sha('second file, to be damaged');
    await flipByte(join(root, 'blobs', damaged.slice(0, 2), damaged), 0);
    const out = join(dir, 'tree-corrupt-out');
    await assert.rejects(store.exportTo(ref, out), { code: 'CORRUPT_ARTIFACT' });
    assert.deepEqual(await readdir(out), []);
  });

  void test('a manifest with an escaping path is refused on export', async () => {
    const evil = Buffer.from(JSON.stringify([{ path: '../outside.txt', sha256: sha('x'), size: 1 }]));
    const manifest = await store.putStream([evil], { fileName: 'evil' });
    const out = join(dir, 'evil-out');
    await assert.rejects(store.exportTo({ ...manifest, kind: 'folder' }, out), { code: 'PATH_ESCAPES' });
    await assert.rejects(store.exportTo({ ...manifest, fileName: '../x' }, out), { code: 'PATH_ESCAPES' });
  });

  void test('bad paths: missing, escaping symlink, unreadable', async (t) => {
    await assert.rejects(store.putFile(join(dir, 'nope.onnx')), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PATH_NOT_FOUND');
      assert.equal(error.message, `no such file or folder: ${join(dir, 'nope.onnx')}`);
      return true;
    });
    await assert.rejects(store.putFolder(join(dir, 'nope')), { code: 'PATH_NOT_FOUND' });

    const leaky = join(dir, 'leaky');
    await mkdir(leaky);
    await writeFile(join(dir, 'secret.txt'), 'secret');
    await symlink(join(dir, 'secret.txt'), join(leaky, 'link.txt'));
    await assert.rejects(store.putFolder(leaky), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PATH_ESCAPES');
      assert.match(error.message, /link\.txt points outside/);
      return true;
    });

    const inner = join(dir, 'inner-link');
    await mkdir(inner);
    await writeFile(join(inner, 'real.txt'), 'real');
    await symlink('real.txt', join(inner, 'alias.txt'));
    const ref = await store.putFolder(inner);
    assert.deepEqual(
      (await store.readManifest(ref)).map((entry) => entry.path),
      ['alias.txt', 'real.txt'],
    );

    const locked = join(dir, 'locked.onnx');
    await writeFile(locked, 'locked');
    await chmod(locked, 0o000);
    // root reads through chmod 000, so the refusal cannot be provoked when the tests run as root.
    if (process.getuid?.() === 0) {
      t.diagnostic('running as root: chmod 000 does not stop reads, PATH_UNREADABLE not checked');
      return;
    }
    await assert.rejects(store.putFile(locked), { code: 'PATH_UNREADABLE' });
  });

  void test('remove deletes a blob once; bad sha256 values are refused', async () => {
    const ref = await store.putStream([Buffer.from('to remove')], { fileName: 'r' });
    assert.equal(await store.remove(ref.sha256), true);
    assert.equal(await store.remove(ref.sha256), false);
    assert.equal(await store.has(ref.sha256), false);
    await assert.rejects(store.verifiedFilePath(ref.sha256), { code: 'NOT_FOUND' });
    await assert.rejects(store.verifiedFilePath('../../etc/passwd'), { code: 'BAD_INPUT' });
  });
});
