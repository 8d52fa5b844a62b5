/**
 * What berth needs to know about the machine, read in one command: OS, architecture, cores,
 * memory, the Node.js it would run, the workdir's absolute path and free disk, and GPUs when
 * `nvidia-smi` is there. `requirements()` turns what is missing into one message that says what to
 * do, before anything is shipped or started.
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { shellQuote, type SshConnection } from './connection.js';

export interface MachineFacts {
  os: string;
  arch: string;
  cores: number;
  memoryBytes: number | undefined;
  /** The remote `node --version` (e.g. v20.11.1), or undefined when none runs. */
  node: string | undefined;
  /** The absolute workdir (created if missing). */
  workdir: string;
  freeBytes: number | undefined;
  gpus: string[];
  /**
   * Whether `systemd-run --user --scope` works there (a user systemd instance with cgroup
   * delegation): replicas then run in a scope with MemoryMax and CPUQuota.
   */
  userScopes: boolean;
}

const factsSchema = z.object({
  os: z.string(),
  arch: z.string(),
  cores: z.coerce.number().int().nonnegative().catch(0),
  memory: z.coerce.number().nonnegative().optional().catch(undefined),
  node: z.string().optional(),
  workdir: z.string().min(1),
  free: z.coerce.number().nonnegative().optional().catch(undefined),
  gpus: z.string().optional(),
  scopes: z.string().optional(),
});

/** The oldest Node.js the scoring server runs on (package.json engines). */
export const minimumNode = { major: 20, minor: 10 };

export async function readMachine(
  connection: SshConnection,
  config: ResolvedSshTargetConfig,
): Promise<MachineFacts> {
  const script = [
    'echo "os=$(uname -s)"',
    'echo "arch=$(uname -m)"',
    'echo "cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"',
    'echo "memory=$(awk \'/^MemTotal:/ {printf "%d", $2 * 1024}\' /proc/meminfo 2>/dev/null)"',
    `echo "node=$(${shellQuote(config.nodePath)} --version 2>/dev/null)"`,
    `mkdir -p ${shellQuote(config.workdir)} && cd ${shellQuote(config.workdir)} && echo "workdir=$(pwd)"`,
    'echo "free=$(df -Pk . 2>/dev/null | awk \'NR == 2 {printf "%d", $4 * 1024}\')"',
    'echo "gpus=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | paste -sd ";" -)"',
    'echo "scopes=$(systemd-run --user --scope --quiet -p MemoryMax=1G true >/dev/null 2>&1 && echo yes)"',
  ].join('; ');
  const output = await connection.run(script, 'reading the machine');
  const fields = Object.fromEntries(
    output.split('\n').flatMap((line) => {
      const at = line.indexOf('=');
      const value = line.slice(at + 1).trim();
      return at > 0 && value !== '' ? [[line.slice(0, at), value]] : [];
    }),
  );
  const parsed = factsSchema.safeParse(fields);
  if (!parsed.success) {
    throw new BerthError('INTERNAL', `cannot read the machine ${connection.where}: ${output.slice(0, 500)}`);
  }
  const facts = parsed.data;
  return {
    os: facts.os,
    arch: facts.arch,
    cores: facts.cores,
    memoryBytes: facts.memory,
    node: facts.node,
    workdir: facts.workdir,
    freeBytes: facts.free,
    gpus: facts.gpus === undefined ? [] : facts.gpus.split(';').filter((gpu) => gpu !== ''),
    userScopes: facts.scopes === 'yes',
  };
}

function nodeVersion(version: string | undefined): { major: number; minor: number } | undefined {
  const match = /^v(\d+)\.(\d+)/.exec(version ?? '');
  return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]) };
}

/**
 * Everything the machine lacks to run replicas, in one BerthError (RUN_FAILED), or nothing.
 * @param neededBytes the disk the artifacts to ship may take
 */
export function checkMachine(
  facts: MachineFacts,
  config: ResolvedSshTargetConfig,
  where: string,
  neededBytes: number,
): void {
  failOnProblems(machineProblems(facts, config, neededBytes), where);
}

/** Everything the machine lacks (this module's problems and others', Python's), in one error. */
export function failOnProblems(missing: readonly string[], where: string): void {
  if (missing.length > 0) {
    throw new BerthError('RUN_FAILED', `the machine ${where} cannot run replicas yet: ${missing.join('; ')}`);
  }
}

/** What the machine lacks to run replicas, each with what to do; empty when nothing. */
export function machineProblems(
  facts: MachineFacts,
  config: ResolvedSshTargetConfig,
  neededBytes: number,
): string[] {
  const missing: string[] = [];
  const node = nodeVersion(facts.node);
  const { major, minor } = minimumNode;
  if (node === undefined) {
    missing.push(
      `no Node.js at "${config.nodePath}": install Node.js ${major}.${minor} or later there, or set the target's nodePath`,
    );
  } else if (node.major < major || (node.major === major && node.minor < minor)) {
    missing.push(`Node.js ${facts.node} is too old: install ${major}.${minor} or later (or set nodePath)`);
  }
  // The shipped scoring server carries ONNX Runtime's linux/x64 libraries.
  if (facts.os !== 'Linux' || facts.arch !== 'x86_64') {
    missing.push(
      `the machine is ${facts.os} ${facts.arch}: the shipped scoring server runs on Linux x86_64 only`,
    );
  }
  if (facts.freeBytes !== undefined && facts.freeBytes < neededBytes) {
    missing.push(
      `${facts.workdir} has ${Math.floor(facts.freeBytes / 2 ** 20)} MiB free, the deployment needs about ${Math.ceil(neededBytes / 2 ** 20)} MiB: free disk there or set the target's workdir`,
    );
  }
  return missing;
}
