/**
 * What only the local target does, against the real scoring server: restarts of a replica process
 * that dies, its log file, and a scoring script's output in its log ring. The shared contract
 * (deploy, score, roll, logs, init failures, remove) is local.conformance.slow.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createLocalTarget } from '../../src/targets/local/index.js';
import type { LogLine } from '../../src/targets/target.js';
import { REPLICA_TOKEN_HEADER } from '../../src/scoring/auth.js';
import type { ReplicaStatus } from '../../src/targets/target.js';
import { send } from '../helpers/http.js';
import { echoScript, linearDeployment, noProgress, scriptDeployment, tempDir, waitFor } from './helpers.js';

/** What the gateway adds to every request it sends a replica. */
function token(replica: ReplicaStatus | undefined): Record<string, string> {
  return { [REPLICA_TOKEN_HEADER]: replica?.token ?? '' };
}

describe('local target', () => {
  const dir = tempDir('local-target');
  const target = createLocalTarget({
    kind: 'local',
    logsDir: `${dir.path}/logs`,
    restartBackoff: { initialMs: 200, maxMs: 1000 },
  });
  after(async () => {
    await target.close();
    dir.remove();
  });

  it('restarts a replica that dies, counts it, and the other replica keeps serving', async () => {
    const spec = linearDeployment(dir.path, { deploymentName: 'crashy', instanceCount: 2 });
    const messages: string[] = [];
    const handle = await target.deploy(spec, (message) => messages.push(message));
    assert.ok(messages.some((message) => /2 replica\(s\) ready/.test(message)));
    assert.match(readFileSync(String(handle.data.logFile), 'utf8'), /"event":"listening"/);
    const pids = handle.data.pids as number[];
    const [first, second] = (await target.status(handle)).replicas;
    process.kill(pids[0]!, 'SIGKILL');
    await waitFor(
      () => target.currentReplicas(handle)[0]?.state !== 'ready',
      5000,
      'the killed replica to leave rotation',
    );
    const during = await target.status(handle);
    assert.equal(during.state, 'Unhealthy');
    assert.match(during.reason ?? '', /1 of 2 replicas ready/);
    assert.match(during.reason ?? '', /SIGKILL/);
    const answer = await send(`${second!.url}/score`, {
      body: { data: [[1, 2, 3]] },
      headers: token(second),
    });
    assert.equal(answer.status, 200);

    await waitFor(async () => (await target.status(handle)).state === 'Healthy', 20_000, 'the restart');
    const replicas = (await target.status(handle)).replicas;
    assert.equal(replicas[0]!.restarts, 1);
    assert.equal(replicas[1]!.restarts, 0);
    assert.notEqual(replicas[0]!.url, first!.url);
    const again = await send(`${replicas[0]!.url}/score`, {
      body: { data: [[0, 0, 0]] },
      headers: token(replicas[0]),
    });
    assert.deepEqual(JSON.parse(again.body), [[0.25]]);
    await target.remove(handle);
  });

  it('runs a scoring script with the deployment environment, its output in the logs', async () => {
    const spec = scriptDeployment(dir.path, echoScript, { deploymentName: 'env' });
    const handle = await target.deploy(spec, noProgress);
    const [replica] = target.currentReplicas(handle);
    const answer = await send(`${replica!.url}/score`, { body: { n: 1 }, headers: token(replica) });
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).deployment, 'env');
    const lines: LogLine[] = [];
    for await (const line of target.logs(handle, { lines: 50, follow: false })) lines.push(line);
    assert.ok(
      lines.some((line) => line.text.includes('init done for env')),
      JSON.stringify(lines),
    );
    await target.remove(handle);
  });
});
