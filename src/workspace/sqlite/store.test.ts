import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { fakeSha, makeTempDir, sampleModel } from '../../../test/workspace/fixtures.js';
import type { MetadataStore } from '../store.js';
import { openSqliteMetadataStore } from './store.js';

void describe('SqliteMetadataStore', () => {
  let cleanup: () => Promise<void>;
  let store: MetadataStore;
  before(async () => {
    const temp = await makeTempDir('store');
    cleanup = temp.cleanup;
    store = await openSqliteMetadataStore(join(temp.dir, 'metadata.db'));
  });
  after(async () => {
    await store.close();
    await cleanup();
  });

  void test('versions are allocated per name from 1, and read back whole', async () => {
    const first = await store.createModelVersion(sampleModel('alpha'));
    const second = await store.createModelVersion(sampleModel('alpha', { description: 'second' }));
    const other = await store.createModelVersion(sampleModel('beta'));
    assert.deepEqual([first.version, second.version, other.version], [1, 2, 1]);
    assert.deepEqual(await store.getModelVersion('alpha', 1), first);
    assert.equal((await store.getModelVersion('alpha', undefined))?.description, 'second');
    assert.equal(await store.getModelVersion('alpha', 9), undefined);
    assert.equal(await store.getModelVersion('nobody', undefined), undefined);
    assert.match(first.createdAt, /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  void test('a custom model without a signature round-trips, folder fields included', async () => {
    const created = await store.createModelVersion(
      sampleModel('folder-model', {
        framework: 'custom',
        signature: null,
        modelFile: 'nested/model.onnx',
        artifact: { kind: 'folder', sha256: fakeSha('tree'), size: 10, fileName: 'tree' },
      }),
    );
    assert.deepEqual(await store.getModelVersion('folder-model', created.version), created);
  });

  void test('lists order by name then version, and filter by name', async () => {
    await store.createModelVersion(sampleModel('gamma'));
    const all = await store.listModelVersions();
    const keys = all.map((model) => `${model.name}:${model.version}`);
    assert.deepEqual(keys, [...keys].sort());
    assert.deepEqual(
      (await store.listModelVersions({ name: 'alpha' })).map((model) => model.version),
      [1, 2],
    );
  });

  void test('invalid names are refused', async () => {
    await assert.rejects(store.createModelVersion(sampleModel('bad name')), { code: 'INVALID_NAME' });
  });

  void test('a version in use cannot be deleted; the refusal names the deployments', async () => {
    const model = await store.createModelVersion(sampleModel('in-use'));
    await store.recordDeployment({
      endpointName: 'shop',
      deploymentName: 'blue',
      modelName: 'in-use',
      modelVersion: model.version,
      spec: { replicas: 1 },
    });
    await store.recordDeployment({
      endpointName: 'shop',
      deploymentName: 'green',
      modelName: 'in-use',
      modelVersion: model.version,
      spec: {},
    });
    assert.deepEqual(await store.modelUsers('in-use', model.version), ['shop/blue', 'shop/green']);
    await assert.rejects(
      store.deleteModelVersion('in-use', model.version),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'IN_USE');
        assert.match(error.message, /shop\/blue, shop\/green/);
        return true;
      },
    );
    assert.equal(await store.removeDeployment('shop', 'blue'), true);
    assert.equal(await store.removeDeployment('shop', 'green'), true);
    assert.equal(await store.removeDeployment('shop', 'green'), false);
    await store.deleteModelVersion('in-use', model.version);
    assert.equal(await store.getModelVersion('in-use', model.version), undefined);
    await assert.rejects(store.deleteModelVersion('in-use', model.version), { code: 'NOT_FOUND' });
  });

  void test('a deployment of a missing model version is refused', async () => {
    await assert.rejects(
      store.recordDeployment({
        endpointName: 'e',
        deploymentName: 'd',
        modelName: 'ghost',
        modelVersion: 1,
        spec: {},
      }),
      { code: 'NOT_FOUND' },
    );
  });

  void test('artifact references are counted across versions', async () => {
    const shared = { kind: 'file' as const, sha256: fakeSha('shared'), size: 1, fileName: 'm.onnx' };
    await store.createModelVersion(sampleModel('shared-a', { artifact: shared }));
    const b = await store.createModelVersion(sampleModel('shared-b', { artifact: shared }));
    assert.equal(await store.countArtifactReferences(shared.sha256), 2);
    await store.deleteModelVersion('shared-b', b.version);
    assert.equal(await store.countArtifactReferences(shared.sha256), 1);
    assert.equal(await store.countArtifactReferences(fakeSha('nothing')), 0);
    await assert.rejects(store.countArtifactReferences('../etc'), { code: 'BAD_INPUT' });
  });

  void test('a closed store rejects calls, and closing twice is fine', async () => {
    const temp = await makeTempDir('closed');
    const closing = await openSqliteMetadataStore(join(temp.dir, 'm.db'));
    await closing.close();
    await closing.close();
    await assert.rejects(closing.listModelVersions(), /closed/);
    await temp.cleanup();
  });
});
