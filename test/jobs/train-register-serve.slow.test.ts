/**
 * The loop the jobs exist for, as a user runs it: the example job trains a linear regression with
 * Debian's scikit-learn and writes ONNX, the model is registered from the job and served, and the
 * served model answers with what the training data hold (y = 0.5·x0 − x1 + 2·x2 + 0.25, plus noise).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobView } from '../../src/sdk/jobs.js';
import { startServe } from '../cli/serve-process.js';
import { repoRoot, runBerth, withTempDir } from '../helpers/cli.js';

const sklearn =
  spawnSync('/usr/bin/python3', ['-c', 'import sklearn, numpy'], { stdio: 'ignore' }).status === 0;

test(
  'train (Python, scikit-learn) → model register --from-job → serve → score',
  { skip: sklearn ? false : '/usr/bin/python3 has no scikit-learn' },
  async () => {
    await withTempDir('job-loop', async (dir) => {
      const workspace = join(dir, 'ws');
      const berth = (...args: string[]) => runBerth(args, { workspace, cwd: dir });
      assert.equal((await berth('init')).code, 0);
      const trained = await berth(
        'job',
        'create',
        '-f',
        join(repoRoot, 'examples/jobs/linear/job.yml'),
        '--stream',
      );
      assert.equal(trained.code, 0, trained.stderr);
      assert.match(trained.stdout, /epoch 4: fitted on 40 rows/);
      const id = /^job (\S+) Queued/m.exec(trained.stderr)?.[1];
      assert.ok(id, trained.stderr);

      const job = JSON.parse((await berth('job', 'show', id, '--json')).stdout) as JobView;
      assert.equal(job.state, 'Completed');
      assert.ok((job.metrics.r2 ?? 0) > 0.99, `r2 ${job.metrics.r2}`);
      assert.ok((job.metrics.mse ?? 1) < 0.01, `mse ${job.metrics.mse}`);
      assert.deepEqual(Object.keys(job.metrics), ['mse', 'r2']);
      assert.match((await berth('job', 'show', id)).stdout, /mse +\S+ {2}[▁▂▃▄▅▆▇█]{5} {2}\(5 values/);

      // A job that has not completed, or a path outside the job, registers nothing.
      const escape = await berth(
        'model',
        'register',
        '--name',
        'linear',
        '--from-job',
        id,
        '--path',
        '../../x',
      );
      assert.equal(escape.code, 2);
      assert.match(escape.stderr, /is not inside job/);
      const registered = await berth(
        'model',
        'register',
        '--name',
        'linear',
        '--from-job',
        id,
        '--path',
        'outputs/model/model.onnx',
      );
      assert.equal(registered.code, 0, registered.stderr);
      assert.match(registered.stdout, /^registered linear:1 \(onnx/);
      const shown = await berth('model', 'show', 'linear:1');
      assert.match(shown.stdout, new RegExp(`tags: +job=${id}`));

      const server = await startServe(['linear:1', '--port', '0'], { workspace });
      try {
        const response = await fetch(`${server.url}/score`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ data: [[1, 2, 3]] }),
        });
        const body = await response.text();
        assert.equal(response.status, 200, body);
        const [[y]] = JSON.parse(body) as [[number]];
        // 0.5 - 2 + 6 + 0.25 = 4.75, within what the noise in the data allows.
        assert.ok(Math.abs(y - 4.75) < 0.1, `scored ${y}`);
      } finally {
        assert.equal(await server.stop(), 0, server.stderr());
      }
    });
  },
);
