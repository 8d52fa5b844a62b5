/**
 * Runs one attempt of a job on this machine: prepares the working folder (the exported code, with
 * `outputs/`, one folder per named output, and `logs/`), binds the command's references, starts one
 * process per rank, each in its own process group, with the rank and world size a distributed
 * trainer reads, and waits. The first rank to fail ends the others; `limits.timeout` and `signal`
 * (a cancel) end them all. The status is written at each step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { substituteCommand } from '../definition.js';
import { pythonModuleName, pythonModuleSource } from '../python-module.js';
import type { RunFolder } from '../run-folder.js';
import type { RunStatus } from '../records.js';
import { endGroups } from './process-group.js';
import { freeLoopbackPort } from '../../core/free-port.js';

export interface AttemptOptions {
  /** Aborted: end the processes and record Canceled. */
  signal?: AbortSignal | undefined;
  /** Extra environment (a checkpoint folder, say). */
  env?: Readonly<Record<string, string>>;
  /** `where` of the attempt record; default `local (<host>)`. */
  where?: string;
  /**
   * Record this process as the run's runner (what a cancel signals, and whose death fails the
   * run). Default true; a cluster worker runs many jobs and is reached through the run folder.
   */
  recordPid?: boolean;
}

/** Resolves the exit code (or 128 + signal number, as a shell reports it). */
function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => {
      const signals: Record<string, number> = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2 };
      resolve(code ?? 128 + (signal === null ? 0 : (signals[signal] ?? 0)));
    });
  });
}

export async function runAttempt(folder: RunFolder, options: AttemptOptions = {}): Promise<RunStatus> {
  const record = await folder.record();
  const definition = record.definition;
  const previous = await folder.status();
  const attemptNumber = previous.attempts.length + 1;
  await folder.updateStatus({
    state: 'Preparing',
    reason: undefined,
    runnerPid: options.recordPid === false ? undefined : process.pid,
  });

  const outputs: Record<string, string> = {};
  await mkdir(join(folder.workDir, 'logs'), { recursive: true });
  await mkdir(folder.outputsDir, { recursive: true });
  for (const name of definition.outputs) {
    outputs[name] = join(folder.outputsDir, name);
    await mkdir(outputs[name], { recursive: true });
  }
  const pythonDir = join(folder.dir, 'sdk', 'python');
  await mkdir(pythonDir, { recursive: true });
  await writeFile(join(pythonDir, `${pythonModuleName}.py`), pythonModuleSource);
  const command = substituteCommand(definition.command, definition.inputs, outputs);

  const worldSize = definition.instanceCount;
  const masterPort = await freeLoopbackPort();
  const children: ChildProcess[] = [];
  // Listened for at once: a command that ends while the status is written must not be missed.
  const exits: Promise<number>[] = [];
  for (let rank = 0; rank < worldSize; rank += 1) {
    const log = openSync(folder.logFile(rank), 'a');
    try {
      const rankEnv: Record<string, string> = {
        BERTH_RUN_ID: record.id,
        BERTH_RUN_METRICS: folder.metricsFile,
        BERTH_OUTPUTS_DIR: folder.outputsDir,
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_WORLD_SIZE: String(worldSize),
        NODE_RANK: '0',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(masterPort),
        PYTHONPATH: [pythonDir, process.env.PYTHONPATH].filter(Boolean).join(':'),
        PYTHONUNBUFFERED: '1',
        ...options.env,
      };
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: folder.workDir,
        detached: true,
        stdio: ['ignore', log, log],
        env: { ...process.env, ...definition.environmentVariables, ...rankEnv },
      });
      children.push(child);
      exits.push(exitOf(child));
    } finally {
      closeSync(log);
    }
  }
  const groups = children.map((child) => child.pid).filter((pid): pid is number => pid !== undefined);
  const startedAt = new Date().toISOString();
  const attempt = { attempt: attemptNumber, startedAt, where: options.where ?? `local (${hostname()})` };
  await folder.updateStatus({
    state: 'Running',
    command,
    startedAt: previous.startedAt ?? startedAt,
    processGroups: groups,
    attempts: [...previous.attempts, attempt],
  });

  let ending: { state: 'Failed' | 'Canceled'; reason: string } | undefined;
  const end = (state: 'Failed' | 'Canceled', reason: string): void => {
    if (ending !== undefined) return;
    ending = { state, reason };
    void endGroups(groups);
  };
  const timer =
    definition.timeoutSeconds === undefined
      ? undefined
      : setTimeout(
          () => end('Failed', `ran past limits.timeout of ${definition.timeoutSeconds}s`),
          definition.timeoutSeconds * 1000,
        );
  const onAbort = (): void => end('Canceled', 'canceled by request');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let firstFailure: { rank: number; code: number } | undefined;
  const codes = await Promise.all(
    exits.map(async (exit, rank) => {
      const code = await exit;
      if (code !== 0 && firstFailure === undefined) {
        firstFailure = { rank, code };
        if (worldSize > 1) end('Failed', `rank ${rank} exited with code ${code}; the other ranks were ended`);
      }
      return code;
    }),
  );
  if (timer !== undefined) clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  // Anything the shells left behind in their groups goes too.
  await endGroups(groups, ending === undefined ? 0 : 5000);

  const exitCode = firstFailure?.code ?? codes[0] ?? 0;
  const final =
    ending ??
    (exitCode === 0
      ? { state: 'Completed' as const, reason: undefined }
      : {
          state: 'Failed' as const,
          reason: `exited with code ${exitCode} (see berth job logs ${record.id})`,
        });
  const endedAt = new Date().toISOString();
  const status = await folder.status();
  return folder.updateStatus({
    state: final.state,
    reason: final.reason,
    endedAt,
    exitCode,
    attempts: status.attempts.map((a) =>
      a.attempt === attemptNumber ? { ...a, endedAt, exitCode, reason: final.reason } : a,
    ),
  });
}
