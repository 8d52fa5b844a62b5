/**
 * scale_settings on an ssh target through the whole path, against the test's own sshd: `target
 * list` says ssh autoscales, the YAML deploys to a named ssh target with no scale_settings warning,
 * the deployment scales to zero on the machine, the gateway holds the first request after idle
 * while a replica starts over SSH, and `berth endpoint show` prints the decisions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { ocrClassifierPath, repoRoot, runBerth, type CliResult } from '../helpers/cli.js';
import { sleep } from '../helpers/http.js';
import { sshdMissing, sshTargetArgs, startSshd, type TestSshd } from '../helpers/sshd.js';

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

describe(
  'autoscaling on an ssh target through the control plane and the CLI',
  { skip: sshdMissing() },
  () => {
    let root: string;
    let workspace: string;
    let sshd: TestSshd;
    const berth = (...args: string[]) => runBerth(args, { workspace });

    before(async () => {
      sshd = await startSshd();
      root = await mkdtemp(join(tmpdir(), 'berth-autoscale-ssh-cli-'));
      workspace = join(root, 'ws');
      ok(await berth('init'));
      ok(await berth('model', 'register', '-n', 'ocr-cls', '-p', ocrClassifierPath));
      ok(await berth(...sshTargetArgs(sshd, 'lab', join(sshd.dir, 'remote'))));
    });
    after(async () => {
      await stopServer(workspace);
      await sshd?.stop();
      await rm(root, { recursive: true, force: true });
    });

    it('lists ssh as autoscaling, scales to zero on the machine, answers the first request after idle, and shows the decisions', async () => {
      const rows = JSON.parse(ok(await berth('target', 'list', '--json')).stdout) as {
        kind: string;
        name?: string;
        autoscale: boolean;
      }[];
      assert.equal(rows.find((row) => row.kind === 'ssh' && row.name === undefined)?.autoscale, true);
      assert.equal(rows.find((row) => row.name === 'lab')?.autoscale, true);
      assert.match(ok(await berth('target', 'show', 'lab')).stdout, /autoscale: {2}yes/);

      await writeFile(join(root, 'endpoint.yml'), 'name: idle-ssh\nauth_mode: key\n');
      await writeFile(
        join(root, 'blue.yml'),
        [
          'name: blue',
          'endpoint_name: idle-ssh',
          'model: azureml:ocr-cls:1',
          'instance_count: 1',
          'readiness_probe: {initial_delay: 0, period: 1}',
          'scale_settings:',
          '  type: target_utilization',
          '  min_instances: 0',
          '  max_instances: 2',
          '  target_utilization_percentage: 70',
          '  polling_interval: 0.2',
          '  idle_timeout: 20',
          '',
        ].join('\n'),
      );
      ok(await berth('endpoint', 'create', '-f', join(root, 'endpoint.yml')));
      const created = ok(
        await berth(
          'deployment',
          'create',
          '-f',
          join(root, 'blue.yml'),
          '--set',
          'target=lab',
          '--all-traffic',
        ),
      );
      assert.doesNotMatch(created.stderr, /scale_settings/, 'ssh honours scale_settings: no warning');

      const first = ok(await berth('endpoint', 'show', 'idle-ssh'));
      assert.match(
        first.stdout,
        /blue autoscaling:\n\s+replicas 1 now \/ 1 desired \(min 0, max 2, target 70%/,
      );

      let shown = '';
      for (let tries = 0; tries < 120 && !/replicas 0 now \/ 0 desired/.test(shown); tries += 1) {
        await sleep(500);
        shown = ok(await berth('endpoint', 'show', 'idle-ssh')).stdout;
      }
      assert.match(shown, /replicas 0 now \/ 0 desired/);
      assert.match(shown, /last scaling decision: 1 → 0 at .*idle_timeout/);
      assert.match(shown, /blue\s+Healthy\s+ocr-cls:1\s+0\/0/);

      const request = join(repoRoot, 'examples', 'endpoints', 'ocr', 'request.json');
      const scored = ok(await berth('endpoint', 'invoke', 'idle-ssh', '--request-file', request));
      assert.equal((JSON.parse(scored.stdout) as number[][])[0]?.length, 2);
      const woken = ok(await berth('endpoint', 'show', 'idle-ssh'));
      assert.match(woken.stdout, /last scaling decision: 0 → 1 at .*a request is waiting/);
      const logs = ok(await berth('deployment', 'logs', 'blue', '-e', 'idle-ssh', '--lines', '500')).stdout;
      assert.match(logs, /autoscale: 1 → 0 replica\(s\): no request for .* \(idle_timeout\)/);
    });
  },
);
