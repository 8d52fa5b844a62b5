/**
 * The replica pids of each deployment, kept in `<runDir>/pids.json`. The control plane persists
 * specs and handles, and after its own restart it calls deploy() again; replicas left running by a
 * control plane that died hard (SIGKILL, power loss of the terminal) are found here and stopped
 * first. A pid is only signalled when /proc shows it still runs the scoring entry with a config
 * from this run folder (pids are reused), so on systems without /proc orphans are left alone.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class PidFile {
  private readonly path: string;
  private table: Record<string, number[]>;

  constructor(
    private readonly runDir: string,
    private readonly scoringEntry: string,
  ) {
    this.path = join(runDir, 'pids.json');
    this.table = this.read();
  }

  write(id: string, pids: number[]): void {
    if (pids.length === 0) delete this.table[id];
    else this.table[id] = pids;
    mkdirSync(this.runDir, { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.table));
    renameSync(temporary, this.path);
  }

  /** Kills the replicas a previous berth process left for this deployment; returns how many. */
  reapOrphans(id: string): number {
    let killed = 0;
    for (const pid of this.read()[id] ?? []) {
      if (this.isOurReplica(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
          killed += 1;
        } catch {
          // Already gone.
        }
      }
    }
    return killed;
  }

  private isOurReplica(pid: number): boolean {
    if (pid === process.pid) return false;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return command.includes(this.scoringEntry) && command.includes(this.runDir);
    } catch {
      return false;
    }
  }

  private read(): Record<string, number[]> {
    try {
      const value: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      return typeof value === 'object' && value !== null ? (value as Record<string, number[]>) : {};
    } catch {
      return {};
    }
  }
}
