/**
 * Runs one attempt of a job on this machine: prepares the working folder (the exported code, with
 * `outputs/`, one folder per named output, and `logs/`), binds the command's references, starts one
 * process per rank, each in its own process group, with the rank and world size a distributed
 * trainer reads, and waits. The first rank to fail ends the others; `limits.timeout` and `signal`
 * (a cancel) end them all. The status is written at each step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { substituteCommand } from '../definition.js';
import { hasCompiledTypeScript, typeScriptNodeOptions } from '../typescript.js';
import { hostPaths, prepareWorkDir, rankEnvironment } from '../work-dir.js';
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

  await prepareWorkDir(folder, definition.outputs);
  const outputs = Object.fromEntries(definition.outputs.map((name) => [name, join(folder.outputsDir, name)]));
  const pythonDir = join(folder.dir, 'sdk', 'python');
  const command = substituteCommand(definition.command, definition.inputs, outputs);

  const typeScript = hasCompiledTypeScript(folder.workDir);
  const worldSize = definition.instanceCount;
  const masterPort = await freeLoopbackPort();
  const children: ChildProcess[] = [];
  // Listened for at once: a command that ends while the status is written must not be missed.
  const exits: Promise<number>[] = [];
  for (let rank = 0; rank < worldSize; rank += 1) {
    const log = openSync(folder.logFile(rank), 'a');
    try {
      const rankEnv: Record<string, string> = {
        ...rankEnvironment(record.id, hostPaths(folder), {
          rank,
          worldSize,
          localRank: rank,
          localWorldSize: worldSize,
          nodeRank: 0,
          masterAddr: '127.0.0.1',
          masterPort,
        }),
        PYTHONPATH: [pythonDir, process.env.PYTHONPATH].filter(Boolean).join(':'),
        ...options.env,
      };
      const env = { ...process.env, ...definition.environmentVariables, ...rankEnv };
      if (typeScript) env.NODE_OPTIONS = typeScriptNodeOptions(folder.dir, env.NODE_OPTIONS);
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: folder.workDir,
        detached: true,
        stdio: ['ignore', log, log],
        env,
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
