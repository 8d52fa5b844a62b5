/**
 * The README's ssh target through the real executable, against the test's own sshd: a named ssh
 * target, `target show` reading its machine, the OCR example's blue.yml deployed to it with
 * `--set target=…` and invoked through the endpoint, its logs, and a delete that leaves nothing on
 * the machine.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopServer } from '../../src/sdk/control-plane-process.js';
import { ocrClassifierPath, runBerth, type CliResult } from '../helpers/cli.js';
import { sshdMissing, sshTargetArgs, startSshd, type TestSshd } from '../helpers/sshd.js';

const example = (file: string) => join('examples', 'endpoints', 'ocr', file);

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}: ${result.stderr}`);
  return result;
}

describe(
  'berth target create --type ssh, target show, and a deployment on it',
  { skip: sshdMissing() },
  () => {
    let root: string;
    let workspace: string;
    let sshd: TestSshd;
    let workdir: string;
    const berth = (...args: string[]) => runBerth(args, { workspace });

    before(async () => {
      sshd = await startSshd();
      workdir = join(sshd.dir, 'remote');
      root = await mkdtemp(join(tmpdir(), 'berth-ssh-cli-'));
      workspace = join(root, 'ws');
      ok(await berth('init'));
      ok(await berth('model', 'register', '--name', 'ocr-cls', '--path', ocrClassifierPath));
      ok(await berth('endpoint', 'create', '-f', example('endpoint.yml')));
    });
    after(async () => {
      await stopServer(workspace);
      await sshd?.stop();
      await rm(root, { recursive: true, force: true });
    });

    it('creates the target, shows its machine, deploys, answers, logs and deletes leaving nothing', async () => {
      const created = ok(await berth(...sshTargetArgs(sshd, 'lab', workdir), '--json'));
      assert.deepEqual(JSON.parse(created.stdout).kind, 'ssh');
      const refused = await berth('target', 'create', 'other', '--type', 'ssh');
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--type ssh needs --host/);

      const shown = ok(await berth('target', 'show', 'lab')).stdout;
      assert.match(shown, /machine: {4}reachable/);
      assert.match(shown, /os: {9}Linux x86_64/);
      assert.match(shown, new RegExp(`node: {7}${process.version.replaceAll('.', '\\.')}`));
      assert.match(shown, /ready: {6}yes/);
      assert.match(
        shown,
        /limits: {5}(cgroups \(systemd-run --user --scope\)|the scoring server's own memory limit)/,
      );

      const deployed = ok(
        await berth(
          'deployment',
          'create',
          '-f',
          example('blue.yml'),
          '-n',
          'blue-ssh',
          '--set',
          'target=lab',
          '--json',
        ),
      );
      const deployment = JSON.parse(deployed.stdout) as { name: string; target: string; state: string };
      assert.deepEqual(
        [deployment.name, deployment.target, deployment.state],
        ['blue-ssh', 'lab', 'Healthy'],
      );

      const answer = ok(
        await berth(
          'endpoint',
          'invoke',
          'ocr',
          '--deployment',
          'blue-ssh',
          '--request-file',
          example('request.json'),
        ),
      );
      const [probabilities] = JSON.parse(answer.stdout) as number[][];
      assert.equal(probabilities?.length, 2, answer.stdout);
      assert.ok(Math.abs((probabilities[0] ?? 0) + (probabilities[1] ?? 0) - 1) < 1e-5, 'a softmax');

      const logs = ok(await berth('deployment', 'logs', 'blue-ssh', '-e', 'ocr')).stdout;
      assert.match(logs, /listening/);

      ok(await berth('deployment', 'delete', 'blue-ssh', '-e', 'ocr'));
      assert.equal(existsSync(workdir), false, 'the workdir is gone');
    });

    it('shows a machine whose host key is wrong as not reachable, saying why', async () => {
      ok(
        await berth(
          'target',
          'create',
          'impostor',
          '--type',
          'ssh',
          '--host',
          sshd.host,
          '--port',
          String(sshd.port),
          '--identity',
          sshd.identity,
          '--known-hosts',
          sshd.wrongKnownHosts,
        ),
      );
      assert.match(
        ok(await berth('target', 'show', 'impostor')).stdout,
        /machine: {4}not reachable: the host key of/,
      );
    });
  },
);
