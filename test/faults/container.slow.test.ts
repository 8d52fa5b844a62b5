/**
 * Faults in user code on the container target, against a real Docker Engine: a container with no
 * declared memory gets the default limit (never unlimited, and said so); a `run` that loops
 * forever, one that fills Buffers and one that calls process.exit each get a clear error and the
 * worker replaced; a replica whose server process is killed with SIGKILL, and one whose container
 * is killed from outside, come back by themselves. The replica's reason says what happened.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import type { ContainerTarget } from '../../src/targets/container/index.js';
import { readReplicaStatus } from '../../src/targets/shared/replica-events.js';
import { replicaMemory } from '../../src/targets/shared/replica-limits.js';
import type { DeploymentHandle, ResolvedDeployment } from '../../src/targets/target.js';
import { createTestContainerTarget, dockerOrSkip, testEngine } from '../fixtures/docker-base-image.js';
import { send, type Answer } from '../helpers/http.js';
import { FAULT_SCRIPT } from '../scoring/fault-harness.js';
import { scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';

const skip = await dockerOrSkip();

describe('faults on the container target', { skip }, () => {
  const dir = tempDir('faults-container');
  const name = `cf${process.pid}`;
  let fixture: Awaited<ReturnType<typeof createTestContainerTarget>> | undefined;
  let target: ContainerTarget;
  let spec: ResolvedDeployment;
  let handle: DeploymentHandle;
  const progress: string[] = [];

  const replica = () => target.currentReplicas(handle)[0]!;
  const score = (body: unknown): Promise<Answer> =>
    send(`${replica().url}/score`, { body, headers: { [REPLICA_TOKEN_HEADER]: replica().token ?? '' } });

  async function answersCorrectly(value: number): Promise<void> {
    let answer: Answer | undefined;
    await waitFor(
      async () => {
        if (replica().state !== 'ready' || replica().url === undefined) return false;
        answer = await score({ value }).catch(() => undefined);
        // Recovering (a worker starting again, on a loaded machine): 503 or 504, until it serves.
        return answer !== undefined && answer.status !== 503 && answer.status !== 504;
      },
      60_000,
      'the replica to answer again',
    ).catch((error: Error) => {
      const { token: _token, ...seen } = replica();
      throw new Error(
        `${error.message}: ${JSON.stringify(seen)} ${answer?.status ?? ''} ${answer?.body ?? ''}`,
      );
    });
    assert.equal(answer?.status, 200, answer?.body);
    assert.deepEqual(JSON.parse(answer.body), { doubled: value * 2 });
  }

  /** Waits for the replica's reason to match; a timeout says what the replica showed instead. */
  async function reasonShows(pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
    await waitFor(() => pattern.test(replica().reason ?? ''), timeoutMs, what).catch((error: Error) => {
      const { token: _token, ...seen } = replica();
      throw new Error(`${error.message}: ${JSON.stringify(seen)}`);
    });
  }

  async function containerId(): Promise<string> {
    return (handle.data.replicas as { container: string }[])[0]!.container;
  }

  before(async () => {
    fixture = await createTestContainerTarget(name);
    target = fixture.target;
    spec = scriptDeployment(dir.path, FAULT_SCRIPT, {
      target: name,
      endpointName: 'faults',
      deploymentName: 'c',
      requestSettings: { requestTimeoutMs: 8000, maxConcurrentRequestsPerInstance: 2, maxQueueWaitMs: 500 },
    });
    handle = await target.deploy(spec, (line) => progress.push(line));
  });
  after(async () => {
    await fixture?.cleanup();
    dir.remove();
  });

  it('gives a container with no declared memory the default limit, and warns so', async () => {
    const bytes = replicaMemory(spec).bytes;
    assert.ok(
      progress.some((line) =>
        /^warning: faults\/c: each replica is held to .* of memory \(default: no resources\.limits\.memory/.test(
          line,
        ),
      ),
      progress.join('\n'),
    );
    const info = await testEngine()
      .getContainer(await containerId())
      .inspect();
    assert.equal(info.HostConfig.Memory, bytes);
    const status = await readReplicaStatus(replica().url!, replica().token, 5000);
    assert.ok(status !== undefined && status.memory.limitBytes <= bytes, JSON.stringify(status?.memory));
    await answersCorrectly(1);
  });

  it('a run that never returns: 504, the worker replaced (timeout), then correct answers', async () => {
    const stuck = await score({ loop: true });
    assert.equal(stuck.status, 504, stuck.body);
    await reasonShows(/\(timeout, 1 in all\)/, 30_000, 'the timeout reason');
    await answersCorrectly(2);
  });

  it('a run that calls process.exit: 500 naming the exit, replaced (exit), then correct answers', async () => {
    // Before the memory fault: what that one leaves behind (RSS the allocator keeps) must not
    // decide whether this replica stays live.
    const answer = await score({ exit: 3 });
    assert.equal(answer.status, 500, answer.body);
    assert.match(JSON.parse(answer.body).message, /exited with code 3/);
    await reasonShows(/\(exit, 1 in all\)/, 30_000, 'the exit reason');
    await answersCorrectly(4);
  });

  it('a run that fills Buffers past the limit: a clear error, and the replica recovers', async () => {
    const answer = await score({ buffersMb: 1100 }).catch(() => undefined);
    // The server ends the worker (503 naming the limit), or, past it, the kernel ends the container.
    if (answer !== undefined) {
      assert.equal(answer.status, 503, answer.body);
      assert.match(JSON.parse(answer.body).message, /memory limit/);
    }
    // The reason follows the replica's status, read once per liveness period.
    await reasonShows(/memory|restart|exit/, 30_000, 'the memory reason');
    await answersCorrectly(3);
    // The replaced worker's Buffers went back to the system: the replica is not left near its limit.
    const status = await readReplicaStatus(replica().url!, replica().token, 5000);
    assert.ok(
      status !== undefined && status.memory.rssBytes < status.memory.limitBytes / 2,
      JSON.stringify(status?.memory),
    );
  });

  it('the server process killed with SIGKILL: the engine restarts the container, the reason says so', async () => {
    const before = replica().restarts;
    const info = await testEngine()
      .getContainer(await containerId())
      .inspect();
    // PID 1 is the engine's init; the scoring server is its child.
    const children = readFileSync(`/proc/${info.State.Pid}/task/${info.State.Pid}/children`, 'utf8').trim();
    const server = Number(children.split(' ')[0]);
    assert.ok(server > 0, `a child of the container's init: ${children}`);
    process.kill(server, 'SIGKILL');
    await waitFor(() => replica().restarts > before, 60_000, 'the restart to be counted');
    await answersCorrectly(5);
    await reasonShows(/ready again after: .*(exit code 137|restarted)/, 30_000, 'the restart reason');
  });

  it('a container killed from outside is started again by berth', async () => {
    const before = replica().restarts;
    await testEngine()
      .getContainer(await containerId())
      .kill({ signal: 'SIGKILL' });
    await waitFor(() => replica().restarts > before, 60_000, 'berth to start it again');
    await answersCorrectly(6);
    await reasonShows(/started again/, 30_000, 'the started-again reason');
  });
});
