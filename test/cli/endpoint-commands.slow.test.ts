import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { ocrClassifierPath, runBerth, type CliResult } from '../helpers/cli.js';

const example = (file: string) => join('examples', 'endpoints', 'ocr', file);

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

describe('berth endpoint / deployment / target / server through the real executable', () => {
  let root: string;
  let workspace: string;
  const berth = (...args: string[]) => runBerth(args, { workspace });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-endpoint-cli-'));
    workspace = join(root, 'ws');
    ok(await berth('init'));
    ok(await berth('model', 'register', '-n', 'ocr-cls', '-p', ocrClassifierPath));
  });
  after(async () => {
    await stopServer(workspace);
    await rm(root, { recursive: true, force: true });
  });

  it('runs the OCR example: blue with all traffic, green invoked directly, mirror, canary', async () => {
    const created = ok(await berth('endpoint', 'create', '-f', example('endpoint.yml'), '--json'));
    const endpoint = JSON.parse(created.stdout) as { name: string; scoringUri: string };
    assert.equal(endpoint.name, 'ocr');
    assert.equal(created.stderr, '', 'the example has no warnings');

    ok(await berth('deployment', 'create', '-f', example('blue.yml'), '--all-traffic'));
    const scored = ok(await berth('endpoint', 'invoke', 'ocr', '--request-file', example('request.json')));
    const probabilities = JSON.parse(scored.stdout) as number[][];
    assert.equal(probabilities.length, 1);
    assert.equal(probabilities[0]?.length, 2);
    assert.ok(Math.abs((probabilities[0]?.[0] ?? 0) + (probabilities[0]?.[1] ?? 0) - 1) < 1e-5);

    ok(await berth('deployment', 'create', '-f', example('green.yml')));
    const green = ok(
      await berth(
        'endpoint',
        'invoke',
        'ocr',
        '--deployment',
        'green',
        '--request-file',
        example('request.json'),
      ),
    );
    const predictions = (JSON.parse(green.stdout) as { predictions: { label: string }[] }).predictions;
    assert.ok(['0', '180'].includes(predictions[0]?.label ?? ''));

    ok(await berth('endpoint', 'update', 'ocr', '--mirror-traffic', 'green=20'));
    const refused = await berth('endpoint', 'update', 'ocr', '--traffic', 'blue=90,green=20');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^berth: error: invalid traffic for endpoint ocr: .*adds up to 110%/);
    ok(await berth('endpoint', 'update', 'ocr', '--mirror-traffic', 'green=0'));
    ok(await berth('endpoint', 'update', 'ocr', '--traffic', 'blue=90,green=10'));

    const show = ok(await berth('endpoint', 'show', 'ocr'));
    assert.match(show.stdout, /^ocr {2}Healthy/);
    assert.match(show.stdout, /scoring URI: http:\/\/127\.0\.0\.1:\d+\/endpoints\/ocr\/score/);
    assert.match(show.stdout, /swagger URI: http:\/\/127\.0\.0\.1:\d+\/endpoints\/ocr\/swagger\.json/);
    assert.match(show.stdout, /traffic: {5}blue=90, green=10/);
    assert.match(show.stdout, /blue\s+Healthy\s+ocr-cls:1\s+1\/1\s+90%/);
  });

  it('updates, logs, keys and refusals with their exit codes', async () => {
    const updated = ok(
      await berth('deployment', 'update', 'green', '-e', 'ocr', '--set', 'instance_count=2', '--json'),
    );
    assert.equal((JSON.parse(updated.stdout) as { instanceCount: number }).instanceCount, 2);
    const logs = ok(await berth('deployment', 'logs', 'blue', '-e', 'ocr', '--lines', '20'));
    assert.match(logs.stdout, /^\[blue-/m);

    const keys = JSON.parse(ok(await berth('endpoint', 'get-credentials', 'ocr', '--json')).stdout) as {
      primaryKey: string;
      secondaryKey: string;
    };
    ok(await berth('endpoint', 'regenerate-keys', 'ocr', '--key-type', 'secondary'));
    const rotated = JSON.parse(
      ok(await berth('endpoint', 'get-credentials', 'ocr', '--json')).stdout,
    ) as typeof keys;
    assert.equal(rotated.primaryKey, keys.primaryKey);
    assert.notEqual(rotated.secondaryKey, keys.secondaryKey);

    const withTraffic = await berth('deployment', 'delete', 'blue', '-e', 'ocr');
    assert.equal(withTraffic.code, 6);
    assert.match(withTraffic.stderr, /deployment blue still takes 90% of live traffic/);
    const inUse = await berth('model', 'delete', 'ocr-cls:1');
    assert.equal(inUse.code, 6);
    assert.match(inUse.stderr, /used by deployments ocr\/blue, ocr\/green/);

    const badFile = join(root, 'bad.json');
    await writeFile(badFile, JSON.stringify({ data: [[1, 2, 3]] }));
    // Sent to blue, which serves the model from its signature and refuses the shape (400); green's
    // script would fail on it (500), and the traffic split sends it a tenth of the requests.
    const badRequest = await berth(
      'endpoint',
      'invoke',
      'ocr',
      '--request-file',
      badFile,
      '--deployment',
      'blue',
    );
    assert.equal(badRequest.code, 2, badRequest.stderr);
    assert.match(badRequest.stderr, /^berth: error: HTTP 400 from deployment blue: /);

    const badYaml = join(root, 'bad.yml');
    await writeFile(
      badYaml,
      'name: red\nendpoint_name: ocr\nmodel: ocr-cls:1\ninstance_count: none\nrequest_settings:\n  request_timeout_ms: soon\n',
    );
    const invalid = await berth('deployment', 'create', '-f', badYaml);
    assert.equal(invalid.code, 2);
    assert.match(
      invalid.stderr,
      /bad\.yml:4: instance_count: expected a whole number of instances, at least 1, got "none"/,
    );
    assert.match(
      invalid.stderr,
      /bad\.yml:6: request_settings\.request_timeout_ms: expected a number, got "soon"/,
    );

    const badSet = await berth(
      'deployment',
      'create',
      '-f',
      example('blue.yml'),
      '-n',
      'blue2',
      '--set',
      'instance_count=0',
    );
    assert.equal(badSet.code, 2);
    assert.match(badSet.stderr, /--set: instance_count: /);
    const setTarget = await berth(
      'deployment',
      'create',
      '-f',
      example('blue.yml'),
      '-n',
      'blue3',
      '--set',
      'target=kubernetes',
    );
    assert.notEqual(setTarget.code, 0, 'the edited target is the one deployed to');
    assert.match(setTarget.stderr, /kubernetes/);

    const missing = await berth('endpoint', 'show', 'nope');
    assert.equal(missing.code, 3);
  });

  it('lists and recommends targets', async () => {
    const list = JSON.parse(ok(await berth('target', 'list', '--json')).stdout) as {
      kind: string;
      implemented: boolean;
    }[];
    assert.deepEqual(
      list.map((row) => row.kind),
      ['local', 'ssh', 'container', 'kubernetes', 'cluster', 'function', 'edge'],
    );
    assert.equal(list.find((row) => row.kind === 'local')?.implemented, true);
    const advice = JSON.parse(
      ok(await berth('target', 'recommend', '--realtime', '--gpu', '--model-size', '2GB', '--json')).stdout,
    ) as { target: string; alternatives: { target: string }[]; ruledOut: { target: string }[] };
    // Kubernetes fits a GPU model and serves real-time traffic; the host's GPU on local is the alternative.
    assert.equal(advice.target, 'kubernetes');
    assert.ok(advice.alternatives.some((choice) => choice.target === 'local'));
    assert.ok(advice.ruledOut.some((choice) => choice.target === 'container'));
    assert.match(ok(await berth('target', 'show', 'container')).stdout, /max model: {2}1 GB/);
  });

  it('reports and stops the control plane; the next command starts it again with the same state', async () => {
    const status = JSON.parse(ok(await berth('server', 'status', '--json')).stdout) as {
      running: boolean;
      endpoints: number;
    };
    assert.equal(status.running, true);
    assert.equal(status.endpoints, 1);
    assert.equal(ok(await berth('server', 'stop')).stdout, 'stopped\n');
    const stopped = await berth('server', 'status');
    assert.equal(stopped.code, 5);
    const list = JSON.parse(ok(await berth('endpoint', 'list', '--json')).stdout) as {
      traffic: Record<string, number>;
    }[];
    assert.deepEqual(list[0]?.traffic, { blue: 90, green: 10 });
    ok(await berth('endpoint', 'update', 'ocr', '--traffic', 'blue=100'));
    ok(await berth('deployment', 'delete', 'green', '-e', 'ocr'));
    ok(await berth('endpoint', 'delete', 'ocr'));
    ok(await berth('model', 'delete', 'ocr-cls:1'));
  });
});
