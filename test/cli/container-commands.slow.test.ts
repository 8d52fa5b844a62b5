/**
 * The README's "The same deployment in a container" section through the real executable: a named
 * container target, the OCR example's blue.yml deployed to it under another name with
 * `--set target=…`, and the endpoint invoked on that deployment. The target gets a name of its own
 * (other suites label containers on the same engine) and the base image the tests make here.
 * `berth package` has its own suites (package.test.ts, package.slow.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import {
  dockerOrSkip,
  ensureTestBaseImage,
  labelledContainers,
  removeTestContainers,
  testDockerHost,
} from '../fixtures/docker-base-image.js';
import { ocrClassifierPath, runBerth, type CliResult } from '../helpers/cli.js';

const skip = await dockerOrSkip();
const example = (file: string) => join('examples', 'endpoints', 'ocr', file);

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

describe('berth target create --type container, and a deployment on it', { skip }, () => {
  const name = `dev-docker-${process.pid}`;
  let root: string;
  let workspace: string;
  const berth = (...args: string[]) => runBerth(args, { workspace });

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-container-cli-'));
    workspace = join(root, 'ws');
    ok(await berth('init'));
    ok(await berth('model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath));
    ok(await berth('endpoint', 'create', '-f', example('endpoint.yml')));
  });
  after(async () => {
    await stopServer(workspace);
    await removeTestContainers(name);
    await rm(root, { recursive: true, force: true });
  });

  it('deploys blue.yml as blue-docker on the named target and answers through the endpoint', async () => {
    const created = ok(
      await berth(
        'target',
        'create',
        name,
        '--type',
        'container',
        '--docker-host',
        testDockerHost(),
        '--base-image',
        await ensureTestBaseImage(),
        '--json',
      ),
    );
    const target = JSON.parse(created.stdout) as { name: string; kind: string };
    assert.deepEqual([target.name, target.kind], [name, 'container']);

    const deployed = ok(
      await berth(
        'deployment',
        'create',
        '-f',
        example('blue.yml'),
        '-n',
        'blue-docker',
        '--set',
        `target=${name}`,
        '--json',
      ),
    );
    const deployment = JSON.parse(deployed.stdout) as { name: string; target: string; state: string };
    assert.deepEqual(
      [deployment.name, deployment.target, deployment.state],
      ['blue-docker', name, 'Healthy'],
      deployed.stdout,
    );
    assert.equal((await labelledContainers(name)).length, 1, 'one container runs the replica');

    const answer = ok(
      await berth(
        'endpoint',
        'invoke',
        'ocr',
        '--deployment',
        'blue-docker',
        '--request-file',
        example('request.json'),
      ),
    );
    const [probabilities] = JSON.parse(answer.stdout) as number[][];
    assert.equal(probabilities?.length, 2, answer.stdout);
    assert.ok(Math.abs((probabilities[0] ?? 0) + (probabilities[1] ?? 0) - 1) < 1e-5, 'a softmax');

    assert.match(
      ok(await berth('endpoint', 'show', 'ocr')).stdout,
      /blue-docker\s+Healthy\s+ocr-cls:1\s+1\/1/,
    );
    ok(await berth('deployment', 'delete', 'blue-docker', '-e', 'ocr'));
    assert.deepEqual(await labelledContainers(name), [], 'deleting the deployment removed its container');
  });
});
