/**
 * scale_settings through the whole path: the YAML is read, the control plane deploys it on local,
 * the gateway holds a request while the deployment scaled to zero starts a replica, and `berth
 * endpoint show` prints replicas now / desired with the last scaling decision and its reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { ocrClassifierPath, repoRoot, runBerth, type CliResult } from '../helpers/cli.js';
import { sleep } from '../helpers/http.js';

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

describe('autoscaling through the control plane and the CLI', () => {
  let root: string;
  let workspace: string;
  const berth = (...args: string[]) => runBerth(args, { workspace });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-autoscale-cli-'));
    workspace = join(root, 'ws');
    ok(await berth('init'));
    ok(await berth('model', 'register', '-n', 'ocr-cls', '-p', ocrClassifierPath));
  });
  after(async () => {
    await stopServer(workspace);
    await rm(root, { recursive: true, force: true });
  });

  it('scales to zero, answers the first request after idle, and shows the decisions', async () => {
    await writeFile(join(root, 'endpoint.yml'), 'name: idle\nauth_mode: key\n');
    await writeFile(
      join(root, 'blue.yml'),
      [
        'name: blue',
        'endpoint_name: idle',
        'model: azureml:ocr-cls:1',
        'instance_count: 1',
        'readiness_probe: {initial_delay: 0, period: 1}',
        'scale_settings:',
        '  type: target_utilization',
        '  min_instances: 0',
        '  max_instances: 2',
        '  target_utilization_percentage: 70',
        '  polling_interval: 0.2',
        '  idle_timeout: 8',
        '',
      ].join('\n'),
    );
    ok(await berth('endpoint', 'create', '-f', join(root, 'endpoint.yml')));
    const created = ok(await berth('deployment', 'create', '-f', join(root, 'blue.yml'), '--all-traffic'));
    assert.doesNotMatch(created.stderr, /scale_settings/, 'local honours scale_settings: no warning');

    const first = ok(await berth('endpoint', 'show', 'idle'));
    assert.match(
      first.stdout,
      /blue autoscaling:\n\s+replicas 1 now \/ 1 desired \(min 0, max 2, target 70%/,
    );

    let shown = '';
    for (let tries = 0; tries < 60 && !/replicas 0 now \/ 0 desired/.test(shown); tries += 1) {
      await sleep(500);
      shown = ok(await berth('endpoint', 'show', 'idle')).stdout;
    }
    assert.match(shown, /replicas 0 now \/ 0 desired/);
    assert.match(shown, /last scaling decision: 1 → 0 at .*idle_timeout/);
    assert.match(shown, /blue\s+Healthy\s+ocr-cls:1\s+0\/0/);

    const request = join(repoRoot, 'examples', 'endpoints', 'ocr', 'request.json');
    const scored = ok(await berth('endpoint', 'invoke', 'idle', '--request-file', request));
    assert.equal((JSON.parse(scored.stdout) as number[][])[0]?.length, 2);
    const after = ok(await berth('endpoint', 'show', 'idle'));
    assert.match(after.stdout, /last scaling decision: 0 → 1 at .*a request is waiting/);
    const json = JSON.parse(ok(await berth('endpoint', 'show', 'idle', '--json')).stdout) as {
      deployments: { scaling: { desired: number; lastDecision: { from: number; to: number } } }[];
    };
    assert.equal(json.deployments[0]?.scaling.lastDecision.from, 0);
  });
});
