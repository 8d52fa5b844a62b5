/**
 * Faults in user code on the local target, seen as a client sees them, through the endpoint
 * gateway: a `run` that loops forever, one that fills its heap, one that fills Buffers, one that
 * calls process.exit, and a replica killed with SIGKILL. Each time the client gets a clear error,
 * the deployment recovers by itself (a correct request then gets the correct answer), and the
 * replica's state and the deployment's logs say what happened.
 *
 * Bounded: one replica per deployment held to 400 MiB (resources.memory), one worker, and no
 * script allocates more than 1 GB even if the limit were not enforced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../../src/endpoints/index.js';
import { createLocalTarget } from '../../src/targets/local/index.js';
import { readReplicaStatus } from '../../src/targets/shared/replica-events.js';
import type { DeploymentHandle, LogLine, ResolvedDeployment } from '../../src/targets/target.js';
import { send, type Answer } from '../helpers/http.js';
import { FAULT_SCRIPT } from '../scoring/fault-harness.js';
import { scriptDeployment, tempDir, waitFor } from '../targets/helpers.js';

const MiB = 1024 * 1024;

describe('faults on the local target, through the gateway', () => {
  const dir = tempDir('faults-local');
  const target = createLocalTarget({
    kind: 'local',
    logsDir: `${dir.path}/logs`,
    restartBackoff: { initialMs: 200, maxMs: 1000 },
  });
  let gateway: Gateway;
  // A short deadline for the run that never returns; a long one for the rest, so that on a loaded
  // machine a slow fill of memory is still ended by the memory limit, not by its deadline.
  const specs: Record<'quick' | 'patient', ResolvedDeployment> = {
    quick: spec('quick', 3000),
    patient: spec('patient', 30_000),
  };
  const handles: Partial<Record<'quick' | 'patient', DeploymentHandle>> = {};
  const progress: string[] = [];

  function spec(name: string, requestTimeoutMs: number): ResolvedDeployment {
    return scriptDeployment(dir.path, FAULT_SCRIPT, {
      endpointName: 'faults',
      deploymentName: name,
      requestSettings: { requestTimeoutMs, maxConcurrentRequestsPerInstance: 2, maxQueueWaitMs: 500 },
      resources: { cpu: undefined, memoryBytes: 400 * MiB, gpu: 0 },
    });
  }

  const score = (deployment: 'quick' | 'patient', body: unknown): Promise<Answer> =>
    send(`${gateway.url}/endpoints/faults/score`, { body, headers: { 'berth-deployment': deployment } });

  async function answersCorrectly(deployment: 'quick' | 'patient', value: number): Promise<void> {
    // The replica may be restarting: the gateway says so (503) until it is back.
    let answer: Answer | undefined;
    await waitFor(
      async () => {
        answer = await score(deployment, { value });
        // Recovering (a worker starting again, on a loaded machine): 503 or 408, until it serves.
        return answer.status !== 503 && answer.status !== 408;
      },
      30_000,
      `${deployment} to answer again`,
    );
    assert.equal(answer?.status, 200, answer?.body);
    assert.deepEqual(JSON.parse(answer.body), { doubled: value * 2 });
  }

  const replica = (deployment: 'quick' | 'patient') => target.currentReplicas(handles[deployment]!)[0]!;

  async function logs(deployment: 'quick' | 'patient'): Promise<string> {
    const lines: LogLine[] = [];
    for await (const line of target.logs(handles[deployment]!, { lines: 2000, follow: false }))
      lines.push(line);
    return lines.map((line) => line.text).join('\n');
  }

  /** The replica's reason and the deployment's logs both tell of a replacement for `cause`. */
  async function told(deployment: 'quick' | 'patient', cause: string): Promise<void> {
    const pattern = new RegExp(`scoring worker replaced 1 time\\(s\\) because .* \\(${cause}, `);
    await waitFor(() => pattern.test(replica(deployment).reason ?? ''), 20_000, `a reason naming ${cause}`);
    assert.match(
      await logs(deployment),
      new RegExp(`berth: replica ${replica(deployment).id}: ${pattern.source}`),
    );
    assert.equal((await target.status(handles[deployment]!)).state, 'Healthy');
  }

  before(async () => {
    gateway = await startGateway();
    handles.quick = await target.deploy(specs.quick, (line) => progress.push(line));
    handles.patient = await target.deploy(specs.patient, noop);
    gateway.setEndpoint({
      name: 'faults',
      authMode: 'none',
      keys: undefined,
      traffic: { patient: 100, quick: 0 },
      mirror: {},
      deployments: (['quick', 'patient'] as const).map((name) => ({
        name,
        requestSettings: specs[name].requestSettings,
        instanceCount: 1,
        replicas: () => target.currentReplicas(handles[name]!),
      })),
    });
  });
  after(async () => {
    await gateway.close();
    await target.close();
    dir.remove();
  });

  it('holds each replica to its resources.memory, and says so at deploy time', async () => {
    assert.ok(
      progress.includes('faults/quick: each replica is held to 400 MB of memory (from resources)'),
      progress.join('\n'),
    );
    const status = await readReplicaStatus(replica('quick').url!, replica('quick').token, 5000);
    assert.equal(status?.memory.limitBytes, 400 * MiB);
    await answersCorrectly('quick', 21);
  });

  it('a run that never returns: 408 to the client, the worker replaced (timeout), then correct answers', async () => {
    const stuck = await score('quick', { loop: true });
    assert.equal(stuck.status, 408, stuck.body);
    assert.match(JSON.parse(stuck.body).message, /timed out after 3000 ms/);
    await told('quick', 'timeout');
    await answersCorrectly('quick', 5);
  });

  it('a run that fills its heap: 503 naming the memory limit, replaced (memory), then correct answers', async () => {
    const answer = await score('patient', { heap: true });
    assert.equal(answer.status, 503, answer.body);
    assert.match(JSON.parse(answer.body).message, /memory/);
    await told('patient', 'memory');
    await answersCorrectly('patient', 7);
  });

  it('a run that fills Buffers past the replica limit: 503, replaced (memory), RSS back under it', async () => {
    const answer = await score('patient', { buffersMb: 1000 });
    assert.equal(answer.status, 503, answer.body);
    assert.match(JSON.parse(answer.body).message, /memory limit/);
    await waitFor(
      () => /\(memory, 2 in all\)/.test(replica('patient').reason ?? ''),
      20_000,
      'the second memory reason',
    );
    const status = await readReplicaStatus(replica('patient').url!, replica('patient').token, 5000);
    assert.ok(status !== undefined && status.memory.rssBytes < 400 * MiB, JSON.stringify(status?.memory));
    await answersCorrectly('patient', 8);
  });

  it('a run that calls process.exit: 500 naming the exit, replaced (exit), then correct answers', async () => {
    const answer = await score('patient', { exit: 3 });
    assert.equal(answer.status, 500, answer.body);
    assert.match(JSON.parse(answer.body).message, /exited with code 3/);
    await told('patient', 'exit');
    await answersCorrectly('patient', 9);
  });

  it('a replica killed with SIGKILL: restarted by itself, its state and logs say so', async () => {
    const pids = (await target.status(handles.patient!)).replicas.length;
    assert.equal(pids, 1);
    const handle = handles.patient!;
    const pid = (handle.data.pids as number[])[0]!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => replica('patient').restarts === 1, 20_000, 'the restart to be counted');
    assert.match(replica('patient').reason ?? '', /was killed by SIGKILL/);
    await answersCorrectly('patient', 10);
    await waitFor(async () => (await target.status(handle)).state === 'Healthy', 20_000, 'Healthy again');
    assert.match(
      await logs('patient'),
      /berth: replica patient-1-0: the process was killed by SIGKILL; restart 1/,
    );
  });
});

function noop(): void {}
