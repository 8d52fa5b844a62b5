import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ppocrClassifierPath, repoRoot } from '../fixtures/paths.js';
import { readPredictions, withBatchFixture } from './helpers.js';

test('the OCR example scores .f32 image tensors with the real PP-OCR classifier; a wrong-size file fails alone', async () => {
  await withBatchFixture(async ({ dir, workspace, batch, write }) => {
    await workspace.models.register({ name: 'ocr-cls', path: ppocrClassifierPath });
    const values = 3 * 48 * 192;
    for (let i = 0; i < 12; i += 1) {
      const image = new Float32Array(values).map((_, j) => Math.sin(i * 7 + j) / 2);
      await write(`images/img${String(i).padStart(2, '0')}.f32`, new Uint8Array(image.buffer));
    }
    await write('images/broken.f32', new Uint8Array(12));
    const status = await batch.run({
      deploymentFile: join(repoRoot, 'examples/batch/ocr/deployment.yml'),
      input: join(dir, 'images'),
      output: join(dir, 'out'),
    });
    assert.equal(status.state, 'completed', status.reason);
    assert.deepEqual(status.items, { total: 13, succeeded: 12, failed: 1 });
    const { header, rows } = await readPredictions(status.output.predictions ?? '');
    assert.deepEqual(header, ['key', 'label', 'confidence']);
    assert.equal(rows.length, 12);
    for (const [key, label, confidence] of rows) {
      assert.match(key ?? '', /^img\d\d\.f32$/);
      assert.ok(label === '0' || label === '180', label);
      assert.ok(Number(confidence) >= 0.5 && Number(confidence) <= 1, confidence);
    }
    const report = JSON.parse(await readFile(status.output.report ?? '', 'utf8'));
    assert.deepEqual(report.failedItems[0].key, 'broken.f32');
    const logs = await batch.logs(status.id);
    assert.ok(logs.some((line) => line.line.startsWith('INFO classifier loaded')));
  });
});
