/**
 * A real OpenSSH server for the ssh target's tests: Debian's /usr/sbin/sshd started on a free
 * loopback port with a host key, a config and an authorized_keys file made in a temp folder, and a
 * client key and known_hosts file to reach it. It logs in as the user running the tests (an sshd
 * not run as root can log in only as itself). down() and up() stop and restart it (the faults
 * tests); stop() ends it by its pid and removes the folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPort } from '../../src/core/free-port.js';

export const sshdPath = '/usr/sbin/sshd';

export interface TestSshd {
  host: string;
  port: number;
  user: string;
  /** The client's private key. */
  identity: string;
  /** A known_hosts file holding this server's host key. */
  knownHosts: string;
  /** A known_hosts file holding another key for the same address: the server must be refused. */
  wrongKnownHosts: string;
  /** A folder for the test's own files (a remote workdir, say). */
  dir: string;
  /** The listening sshd's pid (a new one after up()). */
  readonly pid: number;
  /** Stops sshd and drops every connection it serves, as a machine whose sshd goes away. */
  down(): Promise<void>;
  /** Starts sshd again on the same port, with the same host key (after down()). */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** Why the tests cannot run here, or undefined. */
export function sshdMissing(): string | undefined {
  if (!existsSync(sshdPath)) return `no OpenSSH server at ${sshdPath} (apt-get install openssh-server)`;
  if (!existsSync('/usr/bin/ssh')) return 'no OpenSSH client (apt-get install openssh-client)';
  return undefined;
}

function keygen(path: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const hostPublic = keygen(hostKey);
  const otherPublic = keygen(join(dir, 'other_host_ed25519'));
  const identity = join(dir, 'id_ed25519');
  writeFileSync(join(dir, 'authorized_keys'), `${keygen(identity)}\n`, { mode: 0o600 });
  const port = await freeLoopbackPort();
  const address = `[127.0.0.1]:${port}`;
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${address} ${hostPublic}\n`);
  const wrongKnownHosts = join(dir, 'wrong_known_hosts');
  writeFileSync(wrongKnownHosts, `${address} ${otherPublic}\n`);
  const root = process.getuid?.() === 0;
  // sshd run as root insists on its privilege-separation folder.
  if (root) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      root ? 'PermitRootLogin prohibit-password' : '',
      'AllowTcpForwarding local',
      'X11Forwarding no',
      'MaxStartups 64',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let server = await launch(config, port, dir);
  return {
    host: '127.0.0.1',
    port,
    user: userInfo().username,
    identity,
    knownHosts,
    wrongKnownHosts,
    dir,
    get pid() {
      return server.child.pid!;
    },
    async down() {
      await server.down();
    },
    async up() {
      if (server.running()) return;
      server = await launch(config, port, dir, false);
    },
    async stop() {
      await server.down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Launched {
  child: ChildProcess;
  running(): boolean;
  down(): Promise<void>;
}

/** Starts sshd on `port` and waits until it answers; `down()` ends it and every connection it serves. */
async function launch(config: string, port: number, dir: string, removeOnFailure = true): Promise<Launched> {
  const child: ChildProcess = spawn(sshdPath, ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const deadline = Date.now() + 20_000;
  while (!(await accepts(port))) {
    if (!running() || Date.now() > deadline) {
      child.kill('SIGKILL');
      if (removeOnFailure) rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start: ${log}`);
    }
    await sleep(50);
  }
  return {
    child,
    running,
    async down() {
      if (!running()) return;
      // The per-connection sshd processes first (not the sessions' own programs), so every
      // connection drops as it would if the machine's sshd went away.
      for (const pid of sshdDescendants(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      process.kill(child.pid!, 'SIGTERM');
      await exited;
    },
  };
}

/** The sshd processes (one per connection) below the listener `root`. */
function sshdDescendants(root: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((row) => row.length >= 3)
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm ?? '' }));
  const below = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const row of rows) {
      if (!below.has(row.pid) && below.has(row.ppid)) {
        below.add(row.pid);
        grew = true;
      }
    }
  }
  return rows
    .filter((row) => row.pid !== root && below.has(row.pid) && row.comm.startsWith('sshd'))
    .map((row) => row.pid);
}
