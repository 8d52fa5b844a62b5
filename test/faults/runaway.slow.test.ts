/**
 * Runaway and wedged control planes: a deployment asking for more replicas than the machine can
 * hold is a spec error (exit 2) before anything is recorded or spawned; a stored one is never
 * resumed on restart (it is marked Failed with the reason); `berth server stop` finds a server that
 * answers nothing by its lock and pid, and kills it (and the replicas it started) when SIGTERM is
 * not enough. Replicas answer only the gateway.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAlive } from '../../src/sdk/control-plane-process.js';
import { EndpointOperations } from '../../src/sdk/endpoints.js';
import { lockHolder } from '../../src/server/lock.js';
import { stopWorkspaceServer } from '../../src/server/stop.js';
import { openWorkspaceParts } from '../../src/workspace/index.js';
import { repoRoot, runBerth } from '../helpers/cli.js';
import { send } from '../helpers/http.js';
import {
  linearDeployment,
  linearRequest,
  linearWorkspace,
  waitFor,
  type TestWorkspace,
} from '../server/helpers.js';

describe('runaway deployments and wedged servers', () => {
  let ws: TestWorkspace;
  let endpoints: EndpointOperations;
  const berth = (...args: string[]) => runBerth(args, { workspace: ws.dir });

  before(async () => {
    ws = await linearWorkspace('runaway');
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
    await endpoints.create({ file: await ws.yaml('endpoint', 'name: shop\nauth_mode: key\n') });
  });
  after(() => ws.cleanup());

  it('refuses instance_count 100000 at validation: exit 2, the reason, nothing recorded', async () => {
    const file = await ws.yaml(
      'runaway',
      linearDeployment('runaway', 'shop').replace('instance_count: 1', 'instance_count: 100000'),
    );
    const refused = await berth('deployment', 'create', '-f', file);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /instance_count 100000 is more than target "local" can hold, at most \d+ replica\(s\) \(\d+ core\(s\) on this machine × 4 = \d+ by CPU; .* by memory\)/,
    );
    assert.deepEqual(await endpoints.listDeployments('shop'), []);
  });

  it('never resumes a stored runaway on restart: it is marked Failed with the reason', async () => {
    const blue = await endpoints.createDeployment({
      file: await ws.yaml('blue', linearDeployment('blue', 'shop')),
      allTraffic: true,
    });
    assert.equal(blue.deployment.state, 'Healthy');
    const stopped = await stopWorkspaceServer(ws.dir);
    assert.equal(stopped?.how, 'asked');
    // What an older berth stored before it spawned hundreds of replicas and was killed.
    const parts = await openWorkspaceParts(ws.dir);
    try {
      await parts.store.recordDeployment({
        endpointName: 'shop',
        deploymentName: 'runaway',
        modelName: 'linear',
        modelVersion: 1,
        spec: {
          spec: {
            name: 'runaway',
            endpoint_name: 'shop',
            model: 'azureml:linear:1',
            instance_count: 100_000,
          },
          baseDir: ws.root,
        },
        target: 'local',
        state: 'Creating',
      });
    } finally {
      await parts.store.close();
    }
    endpoints = new EndpointOperations({ workspaceDir: ws.dir });
    const runaway = await waitFor('the runaway to be refused', async () => {
      const view = await endpoints.getDeployment('shop', 'runaway');
      return view.state === 'Failed' ? view : undefined;
    });
    assert.match(runaway.reason ?? '', /instance_count 100000 is more than target "local" can hold/);
    assert.equal(runaway.replicas.length, 0);
    const healthy = await waitFor('blue to come back', async () => {
      const view = await endpoints.getDeployment('shop', 'blue');
      return view.state === 'Healthy' ? view : undefined;
    });
    assert.equal(healthy.replicas.length, 1);
    await endpoints.deleteDeployment('shop', 'runaway');
  });

  it('a replica answers only the gateway: 401 without the replica token, health open', async () => {
    const keys = await endpoints.getCredentials('shop');
    const through = await endpoints.invoke('shop', { body: linearRequest });
    assert.equal(through.status, 200, through.body);
    assert.deepEqual(JSON.parse(through.body), [[4.75]]);
    const [replica] = (await endpoints.getDeployment('shop', 'blue')).replicas;
    const url = replica?.url ?? '';
    for (const headers of [{}, { authorization: `Bearer ${keys.primaryKey}` }] as Record<string, string>[]) {
      const direct = await send(`${url}/score`, { raw: Buffer.from(linearRequest), headers });
      assert.equal(direct.status, 401, direct.body);
      assert.match(JSON.parse(direct.body).message, /replica token/);
    }
    assert.equal((await send(`${url}/v2/health/ready`)).status, 200);
  });

  it('server stop finds a server that answers nothing by its lock and pid, and kills it and its children', async () => {
    assert.ok((await stopWorkspaceServer(ws.dir)) !== undefined);
    // A control plane wedged in a busy loop: it holds the lock, started a child, ignores SIGTERM.
    const script = join(ws.root, 'wedged.mjs');
    const lockModule = join(repoRoot, 'dist', 'src', 'server', 'lock.js');
    await writeFile(
      script,
      `import { spawn } from 'node:child_process';
import { acquireWorkspaceLock } from ${JSON.stringify(lockModule)};
acquireWorkspaceLock(process.argv[2]);
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
process.on('SIGTERM', () => {});
console.log(JSON.stringify({ child: child.pid }));
setTimeout(() => { for (;;) {} }, 100);
`,
    );
    const wedged = spawn(process.execPath, [script, ws.dir], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const child = await new Promise<number>((resolve, reject) => {
      wedged.stdout.once('data', (chunk: Buffer) =>
        resolve((JSON.parse(chunk.toString()) as { child: number }).child),
      );
      wedged.once('exit', () => reject(new Error('the wedged server exited early')));
    });
    assert.equal(lockHolder(ws.dir), wedged.pid);

    const stopped = await runBerth(['server', 'stop', '--timeout', '1'], { workspace: ws.dir });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, `stopped: pid ${wedged.pid} did not stop within 1 s and was killed\n`);
    await waitFor('the wedged server and its child to be gone', async () =>
      isAlive(wedged.pid!) || isAlive(child) ? undefined : true,
    );
    assert.equal(lockHolder(ws.dir), undefined);
    const again = await runBerth(['server', 'stop'], { workspace: ws.dir });
    assert.equal(again.stdout, 'not running\n');
  });
});
