import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { makeTempDir, sampleModel } from '../../test/workspace/fixtures.js';
import { initWorkspace, openWorkspaceParts, resolveWorkspaceDir } from './location.js';

void describe('workspace location', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await makeTempDir('location')));
  after(() => cleanup());

  void test('an explicit folder wins, then BERTH_WORKSPACE, then ./.berth; relative to cwd', () => {
    assert.equal(resolveWorkspaceDir('here', { BERTH_WORKSPACE: '/srv/ws' }, '/home/u'), '/home/u/here');
    assert.equal(resolveWorkspaceDir(undefined, { BERTH_WORKSPACE: '/srv/ws' }, '/home/u'), '/srv/ws');
    assert.equal(resolveWorkspaceDir(undefined, { BERTH_WORKSPACE: 'ws' }, '/home/u'), '/home/u/ws');
    assert.equal(resolveWorkspaceDir(undefined, {}, '/home/u'), '/home/u/.berth');
    assert.equal(resolveWorkspaceDir(undefined, { BERTH_WORKSPACE: '' }, '/home/u'), '/home/u/.berth');
  });

  void test('an uninitialised folder is refused with a hint', async () => {
    const missing = join(dir, 'nothing-here');
    await assert.rejects(openWorkspaceParts(missing), {
      code: 'WORKSPACE_MISSING',
      message: `no berth workspace at ${missing}: run \`berth init\` (or set BERTH_WORKSPACE)`,
    });
  });

  void test('init is idempotent, and the parts it creates open and work', async () => {
    const workspace = join(dir, 'ws');
    assert.deepEqual(await initWorkspace(workspace), { dir: workspace, existed: false });
    assert.deepEqual(await initWorkspace(workspace), { dir: workspace, existed: true });
    const parts = await openWorkspaceParts(workspace);
    try {
      assert.equal(parts.dir, workspace);
      const ref = await parts.artifacts.putStream([Buffer.from('m')], { fileName: 'm.onnx' });
      const model = await parts.store.createModelVersion(sampleModel('m', { artifact: ref }));
      assert.equal(model.version, 1);
    } finally {
      await parts.store.close();
    }
  });
});
