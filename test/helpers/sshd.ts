/**
 * A real OpenSSH server for the ssh target's tests: Debian's /usr/sbin/sshd with a host key, a
 * config and an authorized_keys file made in a temp folder, and a client key and known_hosts file to
 * reach it. Run as root, the "remote machine" is as the issue asks (`./remote-host.ts`): sshd runs
 * as the unprivileged user `berth-remote` (an sshd not run as root logs in only as its own user), in
 * a network namespace of the test's own, listening on the namespace's address; the workdir the
 * tests use (`dir/remote`) is that user's. Where that cannot be made it falls back (see
 * `isolation`). down() and up() stop and restart it (the faults tests); stop() ends it by its pid,
 * then removes the folder and the namespace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPort } from '../../src/core/free-port.js';
import { giveTo, remoteCommand, remoteNetwork, remoteUser, type RemoteNetwork } from './remote-host.js';

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
  /** A folder for the test's own files, the remote user's (a remote workdir, say). */
  dir: string;
  /** How the remote is kept apart from the tests: its user, and its network namespace or loopback. */
  isolation: string;
  /** The namespace sshd runs in, when it has one. */
  namespace: string | undefined;
  /** The command line that runs `file args` on the "remote": as its user, in its namespace. */
  command(file: string, args: readonly string[]): [string, string[]];
  /** Gives a file or folder the test made to the remote user (so the remote can change it). */
  giveToRemote(path: string): void;
  /** The listening sshd's pid (a new one after up()). */
  readonly pid: number;
  /** Stops sshd and drops every connection it serves, as a machine whose sshd goes away. */
  down(): Promise<void>;
  /** Starts sshd again on the same port, with the same host key (after down()). */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** Why the tests cannot run here, or undefined. */
/**
 * `target create NAME --type ssh …` arguments (after `berth`) for a target that reaches `sshd` as
 * its user with its key and host key, keeps its files in `workdir` there, and runs this Node.
 */
export function sshTargetArgs(sshd: TestSshd, name: string, workdir: string): string[] {
  return [
    'target',
    'create',
    name,
    '--type',
    'ssh',
    '--host',
    sshd.host,
    '--port',
    String(sshd.port),
    '--user',
    sshd.user,
    '--identity',
    sshd.identity,
    '--known-hosts',
    sshd.knownHosts,
    '--workdir',
    workdir,
    '--node',
    process.execPath,
  ];
}

export function sshdMissing(): string | undefined {
  if (!existsSync(sshdPath)) return `no OpenSSH server at ${sshdPath} (apt-get install openssh-server)`;
  if (!existsSync('/usr/bin/ssh')) return 'no OpenSSH client (apt-get install openssh-client)';
  return undefined;
}

function keygen(path: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'berth-test', '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startSshd(): Promise<TestSshd> {
  const user = remoteUser();
  const network = user === undefined ? undefined : remoteNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'berth-sshd-'));
  try {
    // The client's files stay ours (0700); the rest of the folder is the remote user's.
    const client = join(dir, 'client');
    mkdirSync(client, { mode: 0o700 });
    const hostKey = join(dir, 'host_ed25519');
    const hostPublic = keygen(hostKey);
    const otherPublic = keygen(join(client, 'other_host_ed25519'));
    const identity = join(client, 'id_ed25519');
    writeFileSync(join(dir, 'authorized_keys'), `${keygen(identity)}\n`, { mode: 0o600 });
    const host = network?.address ?? '127.0.0.1';
    // In a namespace of its own every port is free; an unprivileged sshd needs one above 1023.
    const port = network === undefined ? await freeLoopbackPort() : 2222;
    const address = `[${host}]:${port}`;
    const knownHosts = join(client, 'known_hosts');
    writeFileSync(knownHosts, `${address} ${hostPublic}\n`);
    const wrongKnownHosts = join(client, 'wrong_known_hosts');
    writeFileSync(wrongKnownHosts, `${address} ${otherPublic}\n`);
    const root = user === undefined && process.getuid?.() === 0;
    // sshd run as root insists on its privilege-separation folder.
    if (root) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        `ListenAddress ${host}`,
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
    for (const path of [dir, hostKey, `${hostKey}.pub`, join(dir, 'authorized_keys'), config])
      giveTo(user, path);
    const command = (file: string, args: readonly string[]): [string, string[]] =>
      remoteCommand(user, network, file, args);
    const isolation =
      user === undefined
        ? `the user running the tests (${userInfo().username}) on 127.0.0.1: not root, so no user or namespace can be made`
        : network === undefined
          ? `user ${user.name} on 127.0.0.1: no network namespace could be made here`
          : `user ${user.name} in network namespace ${network.name} at ${host}`;
    let server = await launch(command, config, host, port);
    return {
      host,
      port,
      user: user?.name ?? userInfo().username,
      identity,
      knownHosts,
      wrongKnownHosts,
      dir,
      isolation,
      namespace: network?.name,
      command,
      giveToRemote: (path) => giveTo(user, path),
      get pid() {
        return server.child.pid!;
      },
      async down() {
        await server.down();
      },
      async up() {
        if (server.running()) return;
        server = await launch(command, config, host, port);
      },
      async stop() {
        try {
          await server.down();
        } finally {
          removeAll(dir, network);
        }
      },
    };
  } catch (error) {
    removeAll(dir, network);
    throw error;
  }
}

function removeAll(dir: string, network: RemoteNetwork | undefined): void {
  rmSync(dir, { recursive: true, force: true });
  network?.remove();
}

interface Launched {
  child: ChildProcess;
  running(): boolean;
  down(): Promise<void>;
}

/** Starts sshd on `port` and waits until it answers; `down()` ends it and every connection it serves. */
async function launch(
  command: (file: string, args: readonly string[]) => [string, string[]],
  config: string,
  host: string,
  port: number,
): Promise<Launched> {
  const [file, args] = command(sshdPath, ['-D', '-e', '-f', config]);
  // `ip netns exec` and `setpriv` exec what they run: the child's pid is sshd's.
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const deadline = Date.now() + 20_000;
  while (!(await accepts(host, port))) {
    if (!running() || Date.now() > deadline) {
      child.kill('SIGKILL');
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
