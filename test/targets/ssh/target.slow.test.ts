/**
 * What only the ssh target does, against a real sshd: the machine is read and checked before
 * anything ships; artifacts are shipped once by content (an update that changes only the code sends
 * only the code); secrets reach the remote server without appearing in any process's arguments;
 * remove leaves no process and no file in the workdir.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../../src/core/errors.js';
import type { ResolvedDeployment } from '../../../src/targets/target.js';
import { send } from '../../helpers/http.js';
import { sshdMissing } from '../../helpers/sshd.js';
import { linearDeployment, tempDir } from '../helpers.js';
import { sshFixture, type SshFixture } from './fixture.js';

const secret = `s3cret-${process.pid}-${Date.now()}`;

/** The header the gateway sends a replica its token in, where the replica reports one. */
function tokenHeader(replica: object | undefined): Record<string, string> | undefined {
  const token = (replica as { token?: string } | undefined)?.token;
  return token === undefined ? undefined : { 'x-berth-replica-token': token };
}

function script(version: string): string {
  return [
    `export function init() { console.log("init of code ${version}"); }`,
    'export function run() {',
    `  return { version: "${version}", secret: process.env.SECRET_VALUE === "${secret}",`,
    '    token: (process.env.BERTH_REPLICA_TOKEN ?? "").length >= 32, cwd: process.cwd(),',
    '    memory: process.env.BERTH_MEMORY_LIMIT_BYTES };',
    '}',
  ].join('\n');
}

/** Whether this machine (the test's "remote") can run a command in a systemd user scope. */
function userScopesHere(): boolean {
  try {
    execFileSync('systemd-run', ['--user', '--scope', '--quiet', '-p', 'MemoryMax=1G', 'true'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

describe('ssh target', { skip: sshdMissing(), concurrency: 1 }, () => {
  let fixture: SshFixture;
  let dir: ReturnType<typeof tempDir>;
  before(async () => {
    dir = tempDir('ssh-target');
    fixture = await sshFixture('lab');
  });
  after(async () => {
    await fixture?.cleanup();
    dir?.remove();
  });

  it('reads the machine: OS, arch, cores, memory, Node.js, workdir', async () => {
    const facts = await fixture.target.machine();
    assert.equal(facts.os, 'Linux');
    assert.equal(facts.cores, availableParallelism());
    assert.ok((facts.memoryBytes ?? 0) > 0);
    assert.equal(facts.node, process.version);
    assert.equal(facts.workdir, fixture.workdir);
    assert.equal(facts.userScopes, userScopesHere(), 'systemd user scopes found as the machine has them');
  });

  it('ships the model once, the code on a code-only update, secrets never in an argument, and removes everything', async () => {
    const code = join(dir.path, 'code');
    mkdirSync(code);
    writeFileSync(join(code, 'score.js'), script('one'));
    const base = linearDeployment(dir.path);
    const spec: ResolvedDeployment = {
      ...base,
      target: 'lab',
      endpointName: 'ep',
      deploymentName: 'blue',
      scoringScript: join(code, 'score.js'),
      codeDir: code,
      environmentVariables: { SECRET_VALUE: secret },
      // Passed on to the replica's scoring server, which holds its whole process to it.
      resources: { ...base.resources, memoryBytes: 300 * 1024 * 1024 },
    };
    const first: string[] = [];
    let handle = await fixture.target.deploy(spec, (line) => first.push(line));
    assert.ok(
      first.some((line) => /model linear:1 shipped to/.test(line)),
      first.join('\n'),
    );
    assert.ok(first.some((line) => /code shipped to/.test(line)));
    // Which of the two holds resources.memory is said at deploy, as the machine allows.
    assert.ok(
      first.some((line) =>
        userScopesHere()
          ? /resources enforced on .* by cgroups \(systemd-run --user --scope/.test(line)
          : /has no systemd user scopes: resources\.memory is held by the scoring server itself/.test(line),
      ),
      first.join('\n'),
    );

    const [replica] = fixture.target.currentReplicas(handle);
    const answer = await send(`${replica?.url}/score`, { body: { data: 1 }, headers: tokenHeader(replica) });
    assert.equal(answer.status, 200, answer.body);
    const body = JSON.parse(answer.body) as {
      version: string;
      secret: boolean;
      token: boolean;
      cwd: string;
      memory: string | undefined;
    };
    assert.deepEqual([body.version, body.secret, body.token], ['one', true, true]);
    assert.equal(body.memory, String(300 * 1024 * 1024), 'resources.memory reaches the replica');
    assert.ok(body.cwd.startsWith(join(fixture.workdir, 'cache', 'code-')), body.cwd);
    const argv = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' });
    assert.ok(!argv.includes(secret), 'a deployment variable is in a process argument');
    assert.ok(!argv.includes('BERTH_REPLICA_TOKEN'), 'the replica token is in a process argument');
    const token = tokenHeader(replica)?.['x-berth-replica-token'];
    if (token !== undefined) assert.ok(!argv.includes(token), 'the replica token is in a process argument');

    writeFileSync(join(code, 'score.js'), script('two'));
    const second: string[] = [];
    handle = await fixture.target.update(handle, spec, (line) => second.push(line));
    assert.ok(
      second.some((line) => /model linear:1 already on/.test(line)),
      second.join('\n'),
    );
    assert.ok(second.some((line) => /scoring server already on/.test(line)));
    assert.ok(second.some((line) => /code shipped to/.test(line)));
    const [renewed] = fixture.target.currentReplicas(handle);
    const again = await send(`${renewed?.url}/score`, { body: { data: 1 }, headers: tokenHeader(renewed) });
    assert.equal((JSON.parse(again.body) as { version: string }).version, 'two');
    const logs: string[] = [];
    for await (const line of fixture.target.logs(handle, { lines: 100, follow: false })) logs.push(line.text);
    assert.ok(logs.some((text) => text.includes('init of code two')));

    await fixture.target.remove(handle);
    assert.deepEqual(fixture.leftovers(), []);
    assert.equal(existsSync(fixture.workdir), false);
  });

  it('says everything the machine lacks in one message, before anything is shipped', async () => {
    const broken = await sshFixture('lab-broken', { nodePath: '/opt/no-such-node/bin/node' });
    try {
      const spec = { ...linearDeployment(dir.path), target: 'lab-broken' };
      await assert.rejects(
        broken.target.deploy(spec, () => undefined),
        (error: Error) => {
          assert.ok(hasErrorCode(error, 'RUN_FAILED'), String(error));
          assert.match(
            error.message,
            /cannot run replicas yet: no Node\.js at "\/opt\/no-such-node\/bin\/node": install Node\.js 20\.10 or later/,
          );
          return true;
        },
      );
      assert.equal(existsSync(join(broken.workdir, 'cache')), false, 'nothing shipped');
    } finally {
      await broken.cleanup();
    }
  });
});
