import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

// The README's first command ends in `npm run demo`: it must work as written, twice in a row.
test('npm run demo registers, deploys and scores the PP-OCR classifier, and is safe to run again', async () => {
  await withTempDir('demo', async (dir) => {
    const workspace = join(dir, 'ws');
    const env = { ...process.env, BERTH_WORKSPACE: workspace };
    try {
      for (const round of [1, 2]) {
        const demo = spawnSync(process.execPath, [join(repoRoot, 'scripts/demo.mjs')], {
          cwd: repoRoot,
          env,
          encoding: 'utf8',
        });
        assert.equal(demo.status, 0, `round ${round}: ${demo.stdout}\n${demo.stderr}`);
        const scores = /^\[\[([0-9.e-]+),([0-9.e-]+)\]\]$/m.exec(demo.stdout);
        assert.ok(scores, `round ${round}: the invoke printed two probabilities: ${demo.stdout}`);
        assert.ok(Math.abs(Number(scores[1]) + Number(scores[2]) - 1) < 1e-5, 'softmax output sums to 1');
        assert.match(demo.stdout, /blue +Healthy +ocr-cls:1 +1\/1 +100%/);
      }
      const versions = await runBerth(['model', 'list', '--json'], { workspace });
      assert.equal(JSON.parse(versions.stdout).length, 1, 'the second run registered nothing new');
    } finally {
      await runBerth(['server', 'stop'], { workspace });
    }
  });
});
