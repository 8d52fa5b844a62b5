/**
 * The ssh target's faults, against a real sshd: sshd stopped (every connection dropped) and started
 * again mid-deployment: requests fail while it is down, then succeed again without a redeploy, from
 * the same remote server process (its supervisor outlived the sessions and was adopted); the remote
 * supervisor killed: its server does not outlive it, and the replica restarts. Waits are bounded
 * conditions, never timings.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DeploymentHandle, ResolvedDeployment } from '../../../src/targets/target.js';
import { send, sleep } from '../../helpers/http.js';
import { sshdMissing } from '../../helpers/sshd.js';
import { linearDeployment, tempDir } from '../helpers.js';
import { sshFixture, type SshFixture } from './fixture.js';

/** Polls `check` until it holds, or fails with `what` after `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(200);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ssh target faults', { skip: sshdMissing(), concurrency: 1 }, () => {
  let fixture: SshFixture;
  let dir: ReturnType<typeof tempDir>;
  let handle: DeploymentHandle;
  let runDir: string;

  /** The replica's remote processes, from its supervisor's pid file on the machine. */
  function remote(folder = runDir): { supervisor: number; server: number } | undefined {
    if (!existsSync(folder)) return undefined;
    const file = readdirSync(folder).find((name) => name.endsWith('.pid'));
    if (file === undefined) return undefined;
    const [supervisor, server] = readFileSync(join(folder, file), 'utf8').trim().split(' ').map(Number);
    return supervisor === undefined || server === undefined ? undefined : { supervisor, server };
  }

  /** One scoring request through the replica's current URL: its status, or 0 when none came. */
  async function score(of = handle): Promise<number> {
    const [replica] = fixture.target.currentReplicas(of);
    if (replica === undefined) return 0;
    const token = (replica as { token?: string }).token;
    try {
      const answer = await send(`${replica.url}/score`, {
        body: { data: [[1, 2, 3]] },
        headers: token === undefined ? {} : { 'x-berth-replica-token': token },
        keepAlive: false,
      });
      return answer.status;
    } catch {
      return 0;
    }
  }

  before(async () => {
    dir = tempDir('ssh-faults');
    fixture = await sshFixture('faults');
    const spec: ResolvedDeployment = {
      ...linearDeployment(dir.path),
      target: 'faults',
      endpointName: 'ep',
      deploymentName: 'blue',
    };
    handle = await fixture.target.deploy(spec, () => undefined);
    runDir = join(fixture.workdir, 'run', 'ep.blue');
  });
  after(async () => {
    await fixture?.cleanup();
    dir?.remove();
  });

  it('keeps the remote server through an sshd restart: requests fail while it is down, then succeed', async () => {
    assert.equal(await score(), 200);
    const before = remote();
    assert.ok(before !== undefined, 'no pid file in the run folder');
    await fixture.sshd.down();
    await until('a request fails while sshd is down', 30_000, async () => (await score()) !== 200);
    assert.ok(alive(before.server), 'the remote server ended with its SSH session');
    await fixture.sshd.up();
    await until('a request succeeds after sshd is back', 90_000, async () => (await score()) === 200);
    assert.deepEqual(remote(), before, 'the remote supervisor and server were replaced, not adopted');
    assert.equal(fixture.target.currentReplicas(handle).length, 1);
  });

  it('restarts the replica when its remote supervisor is killed, and leaves no orphan server', async () => {
    const before = remote();
    assert.ok(before !== undefined);
    process.kill(before.supervisor, 'SIGKILL');
    await until('the old server ends with its supervisor', 30_000, () => !alive(before.server));
    await until('a new remote server', 60_000, () => {
      const now = remote();
      return now !== undefined && now.server !== before.server && alive(now.server);
    });
    await until('a request succeeds from the restarted replica', 60_000, async () => (await score()) === 200);
  });

  it('replaces a hung (stopped, not crashed) remote server: the supervisor probes it on the machine', async () => {
    const spec: ResolvedDeployment = {
      ...linearDeployment(dir.path),
      target: 'faults',
      endpointName: 'ep',
      deploymentName: 'hung',
      livenessProbe: {
        initialDelayMs: 0,
        periodMs: 1000,
        timeoutMs: 3000,
        failureThreshold: 3,
        successThreshold: 1,
      },
    };
    const hung = await fixture.target.deploy(spec, () => undefined);
    const folder = join(fixture.workdir, 'run', 'ep.hung');
    try {
      await until('the replica answers', 60_000, async () => (await score(hung)) === 200);
      const before = remote(folder);
      assert.ok(before !== undefined);
      process.kill(before.server, 'SIGSTOP');
      await until('the hung server is ended', 90_000, () => !alive(before.server));
      await until('a new remote server', 90_000, () => {
        const now = remote(folder);
        return now !== undefined && now.server !== before.server && alive(now.server);
      });
      await until('a request succeeds from the new server', 60_000, async () => (await score(hung)) === 200);
      const lines: string[] = [];
      for await (const line of fixture.target.logs(hung, { lines: 1000, follow: false }))
        lines.push(line.text);
      // Both ends probe the server with the deployment's liveness probe: the machine's supervisor
      // (which ends it), and the control plane through the forward (which restarts the replica).
      // Whichever counts three failures first replaces it; on a loaded machine either may win.
      assert.ok(
        lines.some(
          (text) =>
            /failed its liveness probe 3 times .*: ended, to be replaced/.test(text) ||
            /liveness probe failed 3 times .*: restarting/.test(text),
        ),
        lines.join('\n'),
      );
    } finally {
      await fixture.target.remove(hung);
    }
  });

  it('removes everything after the faults (through a new master connection): no process, no file', async () => {
    await fixture.target.remove(handle);
    assert.deepEqual(fixture.leftovers(), []);
    assert.equal(existsSync(fixture.workdir), false);
  });
});
