/**
 * `berth server stop`: finds the workspace's control plane by its lock and the pid the lock's
 * holder wrote (lock.ts), not only by a health answer, so a server too busy to answer anything (one
 * spawning replicas by the hundred, one wedged in a loop) is stopped too.
 */
import { readFileSync } from 'node:fs';
import { readServerFile } from '../workspace/server-file.js';
import { lockHolder, processAlive } from './lock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface StoppedServer {
  pid: number;
  /**
   * `asked`: it stopped when asked (POST /api/shutdown); `terminated`: on SIGTERM (it answered no
   * health check); `killed`: it was still running `timeoutMs` later, and got SIGKILL.
   */
  how: 'asked' | 'terminated' | 'killed';
}

/**
 * Stops the workspace's server (replicas stopped, state kept); undefined when none runs. The
 * server is found by the workspace lock and the pid its holder wrote, so a busy server that answers
 * no health check is stopped too: asked over the API when it answers, else SIGTERM, and SIGKILL
 * (its whole process group when it leads one: the replicas it started) past `timeoutMs`.
 */
export async function stopWorkspaceServer(
  workspaceDir: string,
  timeoutMs = 30_000,
): Promise<StoppedServer | undefined> {
  // Only the lock's holder is signalled: a stale file's pid may belong to another process by now.
  const pid = lockHolder(workspaceDir);
  if (pid === undefined) return undefined;
  const file = await readServerFile(workspaceDir);
  const asked =
    file?.pid === pid &&
    (await fetch(`${file.url}/api/shutdown`, {
      method: 'POST',
      headers: { authorization: `Bearer ${file.token}` },
      signal: AbortSignal.timeout(5000),
    }).then(
      (response) => response.ok,
      () => false,
    ));
  if (!asked) signal(pid, 'SIGTERM');
  if (await exits(pid, timeoutMs)) return { pid, how: asked ? 'asked' : 'terminated' };
  if (leadsProcessGroup(pid)) signal(-pid, 'SIGKILL');
  signal(pid, 'SIGKILL');
  await exits(pid, 10_000);
  return { pid, how: 'killed' };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}

async function exits(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Whether `pid` leads its process group (a detached server does): Linux /proc; false elsewhere. */
function leadsProcessGroup(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]) === pid;
  } catch {
    return false;
  }
}
