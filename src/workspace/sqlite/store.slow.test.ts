// Concurrent version allocation: processes registering the same name at once get distinct,
// gap-free versions (BEGIN IMMEDIATE + busy timeout).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../../../test/workspace/fixtures.js';
import { latestSchemaVersion } from './migrations.js';
import { openSqliteMetadataStore } from './store.js';

const child = fileURLToPath(new URL('../../../test/workspace/register-child.js', import.meta.url));

async function runChild(args: string[]): Promise<number[]> {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (data: Buffer) => (out += data.toString()));
  proc.stderr.on('data', (data: Buffer) => (err += data.toString()));
  const [code] = (await once(proc, 'exit')) as [number | null];
  assert.equal(code, 0, `child failed: ${err}`);
  return JSON.parse(out) as number[];
}

void describe('concurrent version allocation', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await makeTempDir('concurrent')));
  after(() => cleanup());

  void test('4 processes x 10 versions of one name get versions 1..40, each once', async (t) => {
    const file = join(dir, 'metadata.db');
    await (await openSqliteMetadataStore(file)).close();
    // Children start together, after they have all had time to boot and open the database.
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runChild([file, 'contended', '10', startAt])),
    );
    const all = results.flat().sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    // Interleaving actually happened: no child got one contiguous run of 10.
    const interleaved = results.some((versions) => (versions.at(-1) ?? 0) - (versions[0] ?? 0) > 9);
    const store = await openSqliteMetadataStore(file);
    assert.equal((await store.listModelVersions({ name: 'contended' })).length, 40);
    await store.close();
    t.diagnostic(interleaved ? 'the children interleaved' : 'the children did not interleave this run');
  });

  void test('4 processes opening a fresh file at once migrate it once and all register', async () => {
    const file = join(dir, 'fresh.db');
    const startAt = String(Date.now());
    const results = await Promise.all(
      Array.from({ length: 4 }, () => runChild([file, 'fresh', '3', startAt, 'create'])),
    );
    assert.deepEqual(
      results.flat().sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    const store = await openSqliteMetadataStore(file);
    assert.equal(await store.schemaVersion(), latestSchemaVersion);
    await store.close();
  });
});
