import assert from 'node:assert/strict';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { makeTempDir } from '../../test/workspace/fixtures.js';
import { hasErrorCode } from '../core/errors.js';
import { initWorkspace, openWorkspaceParts } from './location.js';
import { createSecretBox, loadSecretKey } from './secrets.js';
import type { NewEndpointRecord } from './store.js';

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

function endpoint(name: string, primaryKey: string): NewEndpointRecord {
  return {
    name,
    authMode: 'key',
    keys: { primaryKey, secondaryKey: `${primaryKey}-second` },
    traffic: {},
    mirror: {},
    state: 'Healthy',
    description: '',
    tags: {},
    target: 'local',
  };
}

function storedKeys(workspace: string, name: string): string {
  const db = new Database(join(workspace, 'metadata.db'), { readonly: true });
  try {
    return (db.prepare('SELECT keys_json FROM endpoints WHERE name = ?').get(name) as { keys_json: string })
      .keys_json;
  } finally {
    db.close();
  }
}

void describe('secrets at rest', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await makeTempDir('secrets')));
  after(() => cleanup());

  void test('a new workspace is 0700, its database and key file 0600', async () => {
    const workspace = join(dir, 'new');
    await initWorkspace(workspace);
    assert.equal(await mode(workspace), 0o700);
    assert.equal(await mode(join(workspace, 'metadata.db')), 0o600);
    assert.equal(await mode(join(workspace, 'secret.key')), 0o600);
    assert.match(await readFile(join(workspace, 'secret.key'), 'utf8'), /^[0-9a-f]{64}$/);
  });

  void test('endpoint keys are stored sealed and read back plain', async () => {
    const workspace = join(dir, 'sealed');
    await initWorkspace(workspace);
    const parts = await openWorkspaceParts(workspace);
    try {
      await parts.store.createEndpoint(endpoint('ocr', 'primary-key-0123456789'));
      const raw = storedKeys(workspace, 'ocr');
      assert.match(raw, /^berth-sealed:v1:/);
      assert.doesNotMatch(raw, /primary-key/);
      assert.equal((await parts.store.getEndpoint('ocr'))?.keys.primaryKey, 'primary-key-0123456789');
      await parts.store.updateEndpoint('ocr', {
        keys: { primaryKey: 'rotated-key-0123456789', secondaryKey: 'other' },
      });
      assert.doesNotMatch(storedKeys(workspace, 'ocr'), /rotated/);
      assert.equal((await parts.store.listEndpoints())[0]?.keys.primaryKey, 'rotated-key-0123456789');
    } finally {
      await parts.store.close();
    }
  });

  void test('an older workspace is tightened and its plain-text keys sealed when it is opened', async () => {
    const workspace = join(dir, 'older');
    await initWorkspace(workspace);
    const parts = await openWorkspaceParts(workspace);
    await parts.store.createEndpoint(endpoint('legacy', 'legacy-key-0123456789'));
    await parts.store.close();
    const db = new Database(join(workspace, 'metadata.db'));
    const plain = JSON.stringify({ primaryKey: 'legacy-key-0123456789', secondaryKey: 'legacy-second' });
    db.prepare('UPDATE endpoints SET keys_json = ? WHERE name = ?').run(plain, 'legacy');
    db.close();
    await chmod(workspace, 0o755);
    await chmod(join(workspace, 'metadata.db'), 0o644);
    await chmod(join(workspace, 'secret.key'), 0o644);

    const reopened = await openWorkspaceParts(workspace);
    try {
      assert.equal(await mode(workspace), 0o700);
      assert.equal(await mode(join(workspace, 'metadata.db')), 0o600);
      assert.equal(await mode(join(workspace, 'secret.key')), 0o600);
      assert.match(storedKeys(workspace, 'legacy'), /^berth-sealed:v1:/);
      assert.equal((await reopened.store.getEndpoint('legacy'))?.keys.secondaryKey, 'legacy-second');
    } finally {
      await reopened.store.close();
    }
  });

  void test('a sealed value opens only under its own key and its own label', async () => {
    const box = createSecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal('secret', 'endpoint:a:keys');
    assert.equal(box.open(sealed, 'endpoint:a:keys'), 'secret');
    assert.notEqual(box.seal('secret', 'endpoint:a:keys'), sealed, 'a fresh IV each time');
    const refused = (run: () => unknown): void =>
      assert.throws(run, (error: unknown) => hasErrorCode(error, 'CORRUPT_ARTIFACT'));
    refused(() => box.open(sealed, 'endpoint:b:keys'));
    refused(() => createSecretBox(Buffer.alloc(32, 2)).open(sealed, 'endpoint:a:keys'));
    refused(() => box.open(`${sealed.slice(0, -4)}AAAA`, 'endpoint:a:keys'));
    refused(() => box.open('berth-sealed:v1:nonsense', 'endpoint:a:keys'));
  });

  void test('processes creating the key at once agree on one key', async () => {
    const file = join(dir, 'race.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSecretKey(file)));
    for (const key of keys) assert.deepEqual(key, keys[0]);
  });
});
