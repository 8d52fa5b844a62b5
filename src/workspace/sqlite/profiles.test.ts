import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ModelProfile } from '../../core/model-profile.js';
import { makeTempDir, sampleModel } from '../../../test/workspace/fixtures.js';
import type { MetadataStore } from '../store.js';
import { openSqliteMetadataStore } from './store.js';

function profile(rps: number): ModelProfile {
  return {
    measuredAt: '2026-12-07T10:00:00.000Z',
    target: 'local',
    machineCores: 2,
    slo: { percentile: 'p99', ms: 50 },
    peakRssBytes: 100 * 2 ** 20,
    maxSustainedRps: rps,
    recommendation: {
      memoryBytes: 150 * 2 ** 20,
      cpu: 0.8,
      maxConcurrentRequestsPerInstance: 4,
      maxBatchSize: 1,
    },
    steps: [
      { maxBatchSize: 1, concurrency: 4, rps, latencyMs: { p50: 2, p99: 9 }, errors: 0, withinSlo: true },
    ],
  };
}

void describe('model profiles in the SQLite store', () => {
  let cleanup: () => Promise<void>;
  let store: MetadataStore;
  let file: string;
  before(async () => {
    const temp = await makeTempDir('profiles');
    cleanup = temp.cleanup;
    file = join(temp.dir, 'metadata.db');
    store = await openSqliteMetadataStore(file);
  });
  after(async () => {
    await store.close();
    await cleanup();
  });

  void test('a profile is kept per version, replaced by the next, and gone with the version', async () => {
    const first = await store.createModelVersion(sampleModel('measured'));
    const second = await store.createModelVersion(sampleModel('measured'));
    assert.equal(await store.getModelProfile('measured', first.version), undefined);
    await store.saveModelProfile('measured', first.version, profile(100));
    await store.saveModelProfile('measured', second.version, profile(200));
    assert.deepEqual(await store.getModelProfile('measured', first.version), profile(100));
    await store.saveModelProfile('measured', first.version, profile(120));
    assert.equal((await store.getModelProfile('measured', first.version))?.maxSustainedRps, 120);
    assert.equal((await store.getModelProfile('measured', second.version))?.maxSustainedRps, 200);

    await store.deleteModelVersion('measured', first.version);
    const raw = new Database(file, { readonly: true });
    try {
      const rows = raw
        .prepare('SELECT model_version FROM model_profiles WHERE model_name = ?')
        .all('measured');
      assert.deepEqual(rows, [{ model_version: second.version }]);
    } finally {
      raw.close();
    }
  });

  void test('a profile for a version that does not exist is refused, naming it', async () => {
    await assert.rejects(
      store.saveModelProfile('nobody', 3, profile(1)),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'NOT_FOUND');
        assert.match(error.message, /nobody:3/);
        return true;
      },
    );
  });

  void test('an unreadable stored profile is an error that says to profile again, not a wrong figure', async () => {
    const model = await store.createModelVersion(sampleModel('damaged'));
    await store.saveModelProfile('damaged', model.version, profile(5));
    const raw = new Database(file);
    try {
      raw
        .prepare("UPDATE model_profiles SET profile_json = '{\"target\": 3}' WHERE model_name = 'damaged'")
        .run();
    } finally {
      raw.close();
    }
    await assert.rejects(store.getModelProfile('damaged', model.version), /run berth profile again/);
  });
});
