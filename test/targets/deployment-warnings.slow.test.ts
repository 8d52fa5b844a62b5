/**
 * An Azure `kubernetesOnlineDeployment` file deployed through the real executable: it runs on the
 * target it is sent to (here local, its endpoint's default), and `berth deployment create` says
 * what differs and which of its settings that target ignores, each with the file's line, instead
 * of deploying it with no word.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Workspace } from '../../src/sdk/workspace.js';
import { runBerth } from '../helpers/cli.js';
import { linearWorkspace, type TestWorkspace } from '../server/helpers.js';

describe('a Kubernetes deployment file sent to another target', () => {
  let ws: TestWorkspace | undefined;
  after(async () => ws?.cleanup());

  it('deploys where it is sent, with a warning naming the difference and every ignored setting', async () => {
    ws = await linearWorkspace('k8s-file');
    const berth = (...args: string[]) => runBerth(args, { workspace: ws?.dir ?? '' });
    const endpoint = await berth('endpoint', 'create', '-f', await ws.yaml('endpoint', 'name: shop\n'));
    assert.equal(endpoint.code, 0, endpoint.stderr);
    const file = await ws.yaml(
      'k8s',
      `$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json
name: blue
endpoint_name: shop
type: kubernetes
model: azureml:linear:1
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
instance_count: 1
request_settings:
  request_timeout_ms: 3000
  max_queue_wait_ms: 3000
readiness_probe:
  initial_delay: 0
  period: 1
liveness_probe:
  initial_delay: 0
  period: 1
scale_settings:
  type: target_utilization
  max_instances: 3
`,
    );
    const created = await berth('deployment', 'create', '-f', file, '--json');
    assert.equal(created.code, 0, created.stderr);
    assert.equal((JSON.parse(created.stdout) as { target: string; state: string }).target, 'local');
    const warnings = created.stderr.split('\n').filter((line) => line.startsWith('berth: warning: '));
    assert.deepEqual(
      warnings.map((line) =>
        /^berth: warning: \S*k8s\.yml:(\d+): ([\w.]+): /.exec(line)?.slice(1, 3).join(' '),
      ),
      // scale_settings is no warning: local replicas have berth's autoscaler.
      ['6 environment', '11 request_settings.max_queue_wait_ms', '4 type'],
      created.stderr,
    );
    assert.match(
      created.stderr,
      /k8s\.yml:4: type: the file is a Kubernetes online deployment, but target "local" is not Kubernetes: it runs as local replicas/,
    );

    // Through the SDK, a named target's kind is the one the warnings speak of.
    const workspace = await Workspace.open({ dir: ws.dir });
    try {
      await workspace.targets.create({ name: 'dev-docker', kind: 'container', settings: {} });
      assert.equal(await workspace.targets.kindOf('dev-docker'), 'container');
      assert.equal(await workspace.targets.kindOf('local'), 'local');
      assert.equal(await workspace.targets.kindOf('nowhere'), undefined);
    } finally {
      await workspace.close();
    }
  });
});
