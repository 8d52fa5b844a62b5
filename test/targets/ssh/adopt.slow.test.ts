/**
 * After the control plane restarts, the replicas still running on the machine are adopted, not
 * duplicated: a process deploys to the ssh target and is killed (SIGKILL, with its bridges: nothing
 * is stopped on the machine); a new target with the same settings deploys the same deployment, and
 * the same remote supervisor and server answer, with the token the new control plane holds. Then
 * remove leaves nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createSshTarget, type SshTargetConfig } from '../../../src/targets/ssh/index.js';
import { send } from '../../helpers/http.js';
import { sshdMissing, startSshd, type TestSshd } from '../../helpers/sshd.js';
import { linearDeployment, tempDir } from '../helpers.js';

const child = fileURLToPath(new URL('./adopt-child.js', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ssh target after a control-plane restart', { skip: sshdMissing() }, () => {
  let sshd: TestSshd | undefined;
  const dir = tempDir('ssh-adopt');
  after(async () => {
    await sshd?.stop();
    dir.remove();
  });

  it(
    'adopts the replicas still running on the machine instead of starting others',
    { timeout: 240_000 },
    async () => {
      sshd = await startSshd();
      const workdir = join(sshd.dir, 'remote');
      const cacheDir = join(dir.path, 'cache');
      const config: SshTargetConfig = {
        kind: 'ssh',
        name: 'lab',
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        identity: sshd.identity,
        knownHosts: sshd.knownHosts,
        workdir,
        nodePath: process.execPath,
        cacheDir,
      };
      const first = spawn(process.execPath, [child, JSON.stringify(config), dir.path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: first.stdout });
      await new Promise<void>((resolve, reject) => {
        lines.on('line', (line) => line === 'deployed' && resolve());
        first.once('exit', (code) => reject(new Error(`the first control plane exited (${code})`)));
      });
      const runDir = join(workdir, 'run', 'ep.blue');
      const pidFile = readdirSync(runDir).find((name) => name.endsWith('.pid'));
      assert.ok(pidFile !== undefined);
      const before = readFileSync(join(runDir, pidFile), 'utf8').trim();
      // The crash: the control plane and its bridges (found by their config folder) end at once.
      const bridges = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.includes(join(cacheDir, 'logs')))
        .map((line) => Number(line.trim().split(' ')[0]));
      first.kill('SIGKILL');
      for (const pid of bridges) if (alive(pid)) process.kill(pid, 'SIGKILL');
      const [supervisor, server] = before.split(' ').map(Number);
      assert.ok(
        alive(supervisor!) && alive(server!),
        'the replica on the machine outlives the control plane',
      );

      const target = createSshTarget(config);
      try {
        const handle = await target.deploy(
          { ...linearDeployment(dir.path), target: 'lab', endpointName: 'ep', deploymentName: 'blue' },
          () => undefined,
        );
        assert.equal(readFileSync(join(runDir, pidFile), 'utf8').trim(), before, 'adopted, not replaced');
        assert.equal(readdirSync(runDir).filter((name) => name.endsWith('.pid')).length, 1, 'not duplicated');
        const [replica] = target.currentReplicas(handle);
        const token = (replica as { token?: string } | undefined)?.token ?? '';
        const answer = await send(`${replica?.url}/score`, {
          body: { data: [[1, 2, 3]] },
          headers: { 'x-berth-replica-token': token },
        });
        assert.equal(answer.status, 200, answer.body);
        await target.remove(handle);
        assert.ok(!alive(server!), 'remove ends the adopted server');
        assert.equal(existsSync(workdir), false);
      } finally {
        await target.close();
      }
    },
  );
});
