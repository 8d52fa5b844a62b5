/**
 * A Mosquitto of the test's own, on a free loopback port, so a test can stop it mid-run (the
 * shared one on 1883 stays up for everyone) or give it a TLS listener with a test CA. Started as
 * a child process, stopped by its pid; nothing persists.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../src/core/free-port.js';

export const mosquittoPath = process.env.BERTH_TEST_MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface OwnBroker {
  url: string;
  port: number;
  /** With TLS: the CA that signed the broker's certificate. */
  caFile: string | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${run.stderr}`);
}

/** A test CA and a certificate for `localhost` signed by it, in `dir`. */
function testCertificates(dir: string): { ca: string; cert: string; key: string } {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=berth test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    dir,
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

function listening(port: number): Promise<boolean> {
  return new Promise((settle) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      settle(true);
    });
    socket.once('error', () => settle(false));
  });
}

export async function startOwnBroker(dir: string, options: { tls: boolean }): Promise<OwnBroker> {
  const port = await freeLoopbackPort();
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false'];
  // Started as root, Mosquitto drops to its own user, which cannot read the test's private files.
  if (process.getuid?.() === 0) lines.push('user root');
  let caFile: string | undefined;
  if (options.tls) {
    const files = testCertificates(dir);
    caFile = files.ca;
    lines.push(`cafile ${files.ca}`, `certfile ${files.cert}`, `keyfile ${files.key}`);
  }
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(config, `${lines.join('\n')}\n`);
  let child: ChildProcess | undefined;
  const broker: OwnBroker = {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://localhost:${port}`,
    port,
    caFile,
    async start() {
      child = spawn(mosquittoPath, ['-c', config], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      while (!(await listening(port))) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`mosquitto did not listen on ${port}`);
        await new Promise((settle) => setTimeout(settle, 50));
      }
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((settle) => running.once('exit', settle));
      running.kill('SIGTERM');
      await exited;
    },
  };
  await broker.start();
  return broker;
}
