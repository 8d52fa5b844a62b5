/**
 * A local deployment whose code_configuration.scoring_script is a Python score.py, through the real
 * executable: the answers equal the in-process prediction, the script's log lines reach
 * `berth deployment logs`, and a target without Python refuses the script at create.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { runBerth } from '../helpers/cli.js';
import { berthOk, examples, pythonMissing, trainSklearn, type SklearnFixture } from './helpers.js';

describe('a local deployment running a Python scoring script', { skip: pythonMissing }, () => {
  let root: string;
  let workspace: string;
  let sklearn: SklearnFixture;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-python-deployment-'));
    workspace = join(root, 'ws');
    sklearn = await trainSklearn(join(root, 'sklearn'));
    await berthOk(workspace, 'init');
    await berthOk(workspace, 'model', 'register', '--name', 'iris', '--path', join(sklearn.dir, 'model.pkl'));
    await writeFile(join(root, 'endpoint.yml'), 'name: irises\nauth_mode: key\n');
    const deployment = (name: string, target: string): string =>
      [
        `name: ${name}`,
        'endpoint_name: irises',
        'model: azureml:iris:1',
        `target: ${target}`,
        'code_configuration:',
        `  code: ${join(examples, 'sklearn-schema')}`,
        '  scoring_script: score.py',
        'instance_count: 1',
        '',
      ].join('\n');
    // A named target of kind local runs Python as the built-in `local` does.
    await berthOk(workspace, 'target', 'create', 'dev-box', '--type', 'local');
    await writeFile(join(root, 'blue.yml'), deployment('blue', 'dev-box'));
    await writeFile(join(root, 'green.yml'), deployment('green', 'function'));
    await writeFile(join(root, 'request.json'), JSON.stringify({ data: sklearn.inputs }));
  });
  after(async () => {
    await stopServer(workspace);
    await rm(root, { recursive: true, force: true });
  });

  it('serves score.py with code_configuration on a target of kind local', async () => {
    await berthOk(workspace, 'endpoint', 'create', '-f', join(root, 'endpoint.yml'));
    await berthOk(workspace, 'deployment', 'create', '-f', join(root, 'blue.yml'), '--all-traffic');
    const scored = await berthOk(
      workspace,
      'endpoint',
      'invoke',
      'irises',
      '--request-file',
      join(root, 'request.json'),
    );
    assert.deepEqual(JSON.parse(scored), sklearn.proba);
    const logs = await berthOk(workspace, 'deployment', 'logs', 'blue', '-e', 'irises');
    assert.match(
      logs,
      new RegExp(`scoring ${sklearn.inputs.length} rows","python":1,"requestId":"[0-9a-f-]+"`),
    );
  });

  it('refuses a Python script on a target whose replicas have no Python, naming the one that has', async () => {
    const refused = await runBerth(['deployment', 'create', '-f', join(root, 'green.yml')], { workspace });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /Python scoring scripts run on targets of kind local, container \(and berth serve\), not on function \(function\)/,
    );
  });
});
