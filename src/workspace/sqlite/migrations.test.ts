import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { fakeSha, makeTempDir } from '../../../test/workspace/fixtures.js';
import { latestSchemaVersion, migrate } from './migrations.js';
import { openSqliteMetadataStore } from './store.js';

void describe('sqlite migrations', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await makeTempDir('migrations')));
  after(() => cleanup());

  void test('an empty file opens at the latest schema, with the history recorded', async () => {
    const file = join(dir, 'empty.db');
    const store = await openSqliteMetadataStore(file);
    assert.equal(await store.schemaVersion(), latestSchemaVersion);
    await store.close();
    const db = new Database(file, { readonly: true });
    const history = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    db.close();
    assert.deepEqual(
      history.map((row) => (row as { version: number }).version),
      Array.from({ length: latestSchemaVersion }, (_, i) => i + 1),
    );
  });

  void test('a database at schema 1 is upgraded on open and keeps its rows', async () => {
    const file = join(dir, 'v1.db');
    const db = new Database(file);
    assert.equal(migrate(db, 1), 1);
    db.prepare(
      `INSERT INTO model_versions (name, version, framework, description, tags_json, artifact_kind, artifact_sha256,
        artifact_size, artifact_file_name, model_file, signature_json, created_at)
       VALUES ('old', 1, 'custom', 'from v1', '{"a":"b"}', 'file', ?, 5, 'old.bin', NULL, NULL, '2024-01-01T00:00:00.000Z')`,
    ).run(fakeSha('old'));
    db.close();

    const store = await openSqliteMetadataStore(file);
    assert.equal(await store.schemaVersion(), latestSchemaVersion);
    const old = await store.getModelVersion('old', 1);
    assert.equal(old?.description, 'from v1');
    assert.deepEqual(old?.tags, { a: 'b' });
    // The v2 table exists and works against the v1 row.
    await store.recordDeployment({
      endpointName: 'ep',
      deploymentName: 'blue',
      modelName: 'old',
      modelVersion: 1,
      spec: {},
    });
    assert.deepEqual(await store.modelUsers('old', 1), ['ep/blue']);
    await store.close();
  });

  void test('a database newer than the code is refused with a clear message', async () => {
    const file = join(dir, 'newer.db');
    await (await openSqliteMetadataStore(file)).close();
    const db = new Database(file);
    db.pragma(`user_version = ${latestSchemaVersion + 1}`);
    db.close();
    await assert.rejects(openSqliteMetadataStore(file), (error: unknown) => {
      assert.equal((error as { code?: unknown }).code, 'CONFLICT');
      assert.match(
        (error as Error).message,
        new RegExp(
          `schema version ${latestSchemaVersion + 1}, newer than this berth knows \\(${latestSchemaVersion}\\): upgrade berth`,
        ),
      );
      return true;
    });
  });

  void test('reopening an up-to-date database changes nothing', async () => {
    const file = join(dir, 'twice.db');
    await (await openSqliteMetadataStore(file)).close();
    const store = await openSqliteMetadataStore(file, { mustExist: true });
    assert.equal(await store.schemaVersion(), latestSchemaVersion);
    await store.close();
  });

  void test('mustExist refuses a missing file', async () => {
    await assert.rejects(openSqliteMetadataStore(join(dir, 'absent.db'), { mustExist: true }), {
      code: 'PATH_NOT_FOUND',
    });
  });
});
