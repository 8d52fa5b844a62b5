/**
 * The ssh connection against a real OpenSSH server: commands run over one master connection, a
 * port forward reaches a server on the machine's loopback, and a host key that is wrong or unknown
 * is refused before anything runs.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
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
      // A server on the machine's loopback (in its own namespace: not ours), reached only through
      // the forward.
      const [file, args] = sshd.command(process.execPath, [
        '-e',
        "require('http').createServer((q, r) => r.end('through the tunnel')).listen(0, '127.0.0.1', function () { console.log(this.address().port); })",
      ]);
      const server = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      after(() => server.kill());
      const [line] = (await once(server.stdout.setEncoding('utf8'), 'data')) as [string];
      const remotePort = Number(line.trim());
      if (sshd.namespace !== undefined) {
        await assert.rejects(
          send(`http://127.0.0.1:${remotePort}/`, { keepAlive: false }),
          'not on our loopback',
        );
      }
      const local = await connection.forward(remotePort);
      assert.notEqual(local, remotePort);
      assert.equal(
        (await send(`http://127.0.0.1:${local}/`, { keepAlive: false })).body,
        'through the tunnel',
      );
      await connection.cancelForward(local, remotePort);
      await assert.rejects(send(`http://127.0.0.1:${local}/`, { keepAlive: false }));
      server.kill();
    } finally {
      await connection.close();
    }
  });

  it('reaches the machine as its own unprivileged user, at its own address where it can', async (context) => {
    context.diagnostic(`remote: ${sshd.isolation}`);
    const connection = connectionFor(sshd.knownHosts);
    try {
      assert.equal((await connection.run('id -un', 'read the user')).trim(), sshd.user);
      if (process.getuid?.() === 0)
        assert.notEqual((await connection.run('id -u', 'read the uid')).trim(), '0');
      if (sshd.namespace !== undefined) {
        assert.notEqual(sshd.host, '127.0.0.1');
        assert.match(
          await connection.run('ip -4 -o addr show', 'read the addresses'),
          new RegExp(`inet ${sshd.host.replaceAll('.', '\\.')}/`),
        );
      }
    } finally {
      await connection.close();
    }
  });

  it('refuses a server whose host key is not the one in known_hosts', async () => {
    const connection = connectionFor(sshd.wrongKnownHosts);
    await assert.rejects(connection.exec('echo should-not-run'), (error: Error) => {
      assert.ok(hasErrorCode(error, 'UNAUTHORIZED'), String(error));
      assert.ok(
        error.message.includes(`host key of ${sshd.user}@${sshd.host}:${sshd.port} is not the one in`),
        error.message,
      );
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
