/**
 * Ending a command's whole process tree: each rank is started as the leader of its own process
 * group (`detached`), so one signal to the group reaches the shell, the interpreter it started and
 * anything those forked. SIGTERM first, so a trainer can save a checkpoint; SIGKILL after a grace.
 */

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function groupAlive(pgid: number): boolean {
  return isAlive(-pgid);
}

/** SIGTERM to every group, SIGKILL to what is left after `graceMs`; resolves when all are gone. */
export async function endGroups(pgids: readonly number[], graceMs = 5000): Promise<void> {
  for (const pgid of pgids) signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pgids.some(groupAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pgid of pgids) signalGroup(pgid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (pgids.some(groupAlive) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 20));
}
