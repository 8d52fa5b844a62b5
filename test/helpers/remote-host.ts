/**
 * The "remote machine" of the ssh target's tests: an unprivileged system user (`berth-remote`) that
 * the test's sshd runs as and logs in as, and a network namespace of the test's own, joined to this
 * one by a veth pair, so the machine has an address of its own and its loopback is not ours.
 *
 * Making a user and a namespace needs root (CAP_NET_ADMIN, useradd). Run as another user, or where
 * `ip netns` does not work, it falls back step by step and `isolation` says what was kept: the
 * separate user on our loopback, or (not root) the user running the tests on our loopback.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chownSync, lstatSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export const remoteUserName = 'berth-remote';

export interface RemoteUser {
  name: string;
  uid: number;
  gid: number;
}

export interface RemoteNetwork {
  /** The namespace's name (`ip netns`). */
  name: string;
  /** The machine's address, inside the namespace. */
  address: string;
  /** Our end of the veth pair. */
  hostAddress: string;
  /** Deletes the namespace and our end of the veth pair, by name. */
  remove(): void;
}

function run(file: string, args: readonly string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function lookup(name: string): RemoteUser | undefined {
  try {
    const [uid, gid] = [run('id', ['-u', name]), run('id', ['-g', name])].map((text) => Number(text.trim()));
    return { name, uid: uid!, gid: gid! };
  } catch {
    return undefined;
  }
}

/**
 * The unprivileged user the remote runs as: made if missing (a system user with a home of its own,
 * no password, its account not locked, since sshd refuses locked accounts). Idempotent: suites
 * running side by side may race to make it, and the loser finds the winner's.
 */
export function remoteUser(): RemoteUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const found = lookup(remoteUserName);
  if (found !== undefined) return found;
  try {
    run('useradd', [
      '--system',
      '--user-group',
      '--create-home',
      '--home-dir',
      `/var/lib/${remoteUserName}`,
      '--shell',
      '/bin/sh',
      remoteUserName,
    ]);
    run('usermod', ['-p', '*', remoteUserName]);
  } catch {
    // made meanwhile by another suite, or useradd is missing: lookup() answers which
  }
  return lookup(remoteUserName);
}

/** Gives `path` (and everything below it) to the remote user. */
export function giveTo(user: RemoteUser | undefined, path: string): void {
  if (user === undefined) return;
  chownSync(path, user.uid, user.gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) giveTo(user, join(path, entry));
}

let made = 0;

/** Two /30 addresses in 10.240.0.0/12 that no interface here has yet. */
function freeSubnet(): [string, string] {
  const taken = run('ip', ['-4', '-o', 'addr', 'show']);
  for (;;) {
    const second = 240 + randomInt(16);
    const third = randomInt(256);
    const fourth = randomInt(64) * 4;
    const prefix = `10.${second}.${third}.`;
    if (!taken.includes(`${prefix}${fourth + 1}/`) && !taken.includes(`${prefix}${fourth + 2}/`)) {
      return [`${prefix}${fourth + 1}`, `${prefix}${fourth + 2}`];
    }
  }
}

/**
 * A network namespace of this test's own, named after this process (`berth-ssh-<pid>-<n>`), with a
 * veth pair whose inner end has the machine's address and whose outer end has ours; the namespace's
 * loopback is up, so a server there on 127.0.0.1 is reachable only from inside (or through SSH).
 * Undefined where namespaces cannot be made here (not root, no `ip`, no CAP_NET_ADMIN).
 */
export function remoteNetwork(): RemoteNetwork | undefined {
  if (process.getuid?.() !== 0) return undefined;
  made += 1;
  const name = `berth-ssh-${process.pid}-${made}`;
  // Interface names are at most 15 characters.
  const outer = `bs${process.pid.toString(36)}x${made}`;
  const inner = `bs${process.pid.toString(36)}y${made}`;
  const remove = (): void => {
    for (const args of [
      ['link', 'del', outer],
      ['netns', 'del', name],
    ]) {
      try {
        run('ip', args);
      } catch {
        // not made, or already gone
      }
    }
  };
  try {
    const [hostAddress, address] = freeSubnet();
    run('ip', ['netns', 'add', name]);
    run('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
    run('ip', ['link', 'set', inner, 'netns', name]);
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', outer]);
    run('ip', ['link', 'set', outer, 'up']);
    const inside = (...args: string[]): string => run('ip', ['netns', 'exec', name, 'ip', ...args]);
    inside('addr', 'add', `${address}/30`, 'dev', inner);
    inside('link', 'set', inner, 'up');
    inside('link', 'set', 'lo', 'up');
    return { name, address, hostAddress, remove };
  } catch {
    remove();
    return undefined;
  }
}

/** The command line that runs `file args` as `user` inside `network` (each where given). */
export function remoteCommand(
  user: RemoteUser | undefined,
  network: RemoteNetwork | undefined,
  file: string,
  args: readonly string[],
): [string, string[]] {
  let command: [string, string[]] = [file, [...args]];
  if (user !== undefined && user.name !== userInfo().username) {
    command = [
      'setpriv',
      [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--reset-env', file, ...args],
    ];
  }
  if (network !== undefined) command = ['ip', ['netns', 'exec', network.name, command[0], ...command[1]]];
  return command;
}
