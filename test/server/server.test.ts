import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../src/core/errors.js';
import { findServer, startServer, stopServer } from '../../src/sdk/control-plane-process.js';
import { ControlPlaneClient } from '../../src/sdk/control-plane-client.js';
import { acquireWorkspaceLock } from '../../src/server/lock.js';
import { resolveServerOptions } from '../../src/server/options.js';
import { runServer } from '../../src/server/run.js';
import { serverStatusSchema } from '../../src/core/specs/index.js';
import { linearWorkspace, type TestWorkspace } from './helpers.js';

describe('control plane process', () => {
  let ws: TestWorkspace;
  before(async () => (ws = await linearWorkspace('server')));
  after(() => ws.cleanup());

  it('refuses a non-loopback bind without a token, and accepts it with one', async () => {
    await assert.rejects(runServer({ workspaceDir: ws.dir, host: '0.0.0.0' }), (error: unknown) => {
      assert.ok(hasErrorCode(error, 'BAD_INPUT'));
      assert.match(error.message, /refusing to bind the control plane to 0\.0\.0\.0 without a token/);
      return true;
    });
    assert.equal(
      resolveServerOptions({ workspaceDir: ws.dir, host: '0.0.0.0', token: 'a-token-of-16-chars' }).host,
      '0.0.0.0',
    );
    assert.equal(resolveServerOptions({ workspaceDir: ws.dir, host: '::1' }).token.length, 43);
  });

  it('holds one lock per workspace, released when the holder lets go', () => {
    const lock = acquireWorkspaceLock(ws.dir);
    assert.throws(() => acquireWorkspaceLock(ws.dir), /another berth server already runs/);
    lock.release();
    acquireWorkspaceLock(ws.dir).release();
  });

  it('starts in the background once, answers with its token only, and stops', async () => {
    assert.equal(await findServer(ws.dir), undefined);
    const first = await startServer(ws.dir);
    assert.equal(first.started, true);
    const again = await startServer(ws.dir);
    assert.equal(again.started, false);
    assert.equal(again.server.pid, first.server.pid);

    const file = JSON.parse(await readFile(join(ws.dir, 'server.json'), 'utf8')) as {
      token: string;
      url: string;
    };
    assert.equal(file.token, first.server.token);
    assert.equal((await fetch(`${file.url}/api/status`)).status, 401);
    const openapi = (await (await fetch(`${file.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    assert.equal(openapi.openapi, '3.1.0');
    assert.ok('/api/endpoints/{endpoint}/deployments/{deployment}' in openapi.paths);

    const client = await ControlPlaneClient.connect(ws.dir, { autoStart: false });
    const status = await client.request('GET', '/api/status', serverStatusSchema);
    assert.equal(status.pid, first.server.pid);
    assert.equal(status.workspace, ws.dir);

    // A second server on the same workspace is refused by the lock.
    await assert.rejects(runServer({ workspaceDir: ws.dir }), /another berth server already runs/);

    assert.equal(await stopServer(ws.dir), true);
    await assert.rejects(access(join(ws.dir, 'server.json')));
    assert.equal(await findServer(ws.dir), undefined);
    assert.equal(await stopServer(ws.dir), false);
    await assert.rejects(ControlPlaneClient.connect(ws.dir, { autoStart: false }), /no berth server runs/);
  });
});
