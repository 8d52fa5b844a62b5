/**
 * The ssh connection against a real OpenSSH server: commands run over one master connection, a
 * port forward reaches a server on the machine's loopback, and a host key that is wrong or unknown
 * is refused before anything runs.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasErrorCode } from '../../../src/core/errors.js';
import { resolveSshTargetConfig } from '../../../src/targets/ssh/config.js';
import { SshConnection } from '../../../src/targets/ssh/connection.js';
import { send } from '../../helpers/http.js';
import { sshdMissing, startSshd, type TestSshd } from '../../helpers/sshd.js';

describe('ssh connection', { skip: sshdMissing() }, () => {
  let sshd: TestSshd;
  const connectionFor = (knownHosts: string): SshConnection =>
    new SshConnection(
      resolveSshTargetConfig({
        kind: 'ssh',
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        identity: sshd.identity,
        knownHosts,
      }),
    );

  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  it('runs commands with stdin through one master connection, and forwards a port', async () => {
    const connection = connectionFor(sshd.knownHosts);
    try {
      assert.equal(await connection.run('cat; echo " done"', 'echo', 'shipped'), 'shipped done\n');
      const failed = await connection.exec('echo oops >&2; exit 3');
      assert.deepEqual([failed.code, failed.stderr], [3, 'oops\n']);
      // A server on the machine's loopback (the same host here), reached only through the forward.
      const server = createServer((_request, response) => response.end('through the tunnel'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const remotePort = (server.address() as { port: number }).port;
      const local = await connection.forward(remotePort);
      assert.notEqual(local, remotePort);
      assert.equal(
        (await send(`http://127.0.0.1:${local}/`, { keepAlive: false })).body,
        'through the tunnel',
      );
      await connection.cancelForward(local, remotePort);
      await assert.rejects(send(`http://127.0.0.1:${local}/`, { keepAlive: false }));
      server.close();
    } finally {
      await connection.close();
    }
  });

  it('refuses a server whose host key is not the one in known_hosts', async () => {
    const connection = connectionFor(sshd.wrongKnownHosts);
    await assert.rejects(connection.exec('echo should-not-run'), (error: Error) => {
      assert.ok(hasErrorCode(error, 'UNAUTHORIZED'), String(error));
      assert.match(error.message, /host key of \S*127\.0\.0\.1:\d+ is not the one in/);
      return true;
    });
    await connection.close();
  });

  it('refuses a server on first contact when known_hosts has no key for it', async () => {
    const empty = join(sshd.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const connection = connectionFor(empty);
    await assert.rejects(connection.exec('echo should-not-run'), (error) =>
      hasErrorCode(error, 'UNAUTHORIZED'),
    );
    await connection.close();
  });
});
