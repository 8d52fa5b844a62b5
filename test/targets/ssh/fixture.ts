/**
 * An ssh target against the test's own sshd: the machine is this one, reached over a real SSH
 * connection; its workdir is a folder the test removes. `leftovers` lists what a removal must not
 * leave: any process whose command line names the workdir, and any file in it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createSshTarget, type SshTarget, type SshTargetConfig } from '../../../src/targets/ssh/index.js';
import { startSshd, type TestSshd } from '../../helpers/sshd.js';
import { tempDir } from '../helpers.js';

export interface SshFixture {
  sshd: TestSshd;
  target: SshTarget;
  workdir: string;
  /**
   * What is left of these deployments (every one when none is named): processes whose command line
   * names their folder on the machine, and files there.
   */
  leftovers(deployments?: readonly string[]): string[];
  cleanup(): Promise<void>;
}

export async function sshFixture(
  name: string,
  overrides: Partial<SshTargetConfig> = {},
): Promise<SshFixture> {
  const sshd = await startSshd();
  const local = tempDir(`ssh-${name}`);
  const workdir = join(sshd.dir, 'remote');
  const target = createSshTarget({
    kind: 'ssh',
    name,
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    identity: sshd.identity,
    knownHosts: sshd.knownHosts,
    workdir,
    nodePath: process.execPath,
    cacheDir: local.path,
    ...overrides,
  });
  return {
    sshd,
    target,
    workdir,
    leftovers: (deployments) => {
      const dirs =
        deployments === undefined
          ? [workdir]
          : deployments.map((id) => join(workdir, 'run', id.replace('/', '.')));
      const processes = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => dirs.some((dir) => line.includes(dir)));
      const files = dirs.flatMap((dir) =>
        existsSync(dir)
          ? [dir, ...readdirSync(dir, { recursive: true }).map((file) => join(dir, String(file)))]
          : [],
      );
      return [...processes, ...files.map((file) => `file ${file}`)];
    },
    cleanup: async () => {
      try {
        await target.close();
      } finally {
        await sshd.stop();
        local.remove();
      }
    },
  };
}
