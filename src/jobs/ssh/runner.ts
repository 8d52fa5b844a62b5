/**
 * Runs a job on an ssh target's machine, an attempt at a time, from the local runner process: ships the
 * code snapshot (content-addressed, into the cache deployments and batch jobs share) and the path
 * inputs, starts the command there (remote-run.ts), and while it runs brings each rank's log and
 * the metrics back into the run folder here; at the end, the outputs and logs/ too, then deletes
 * the run's folder on the machine. A cancel (`signal`) or `limits.timeout` ends the remote process
 * groups. The connection may drop while the command runs: the command goes on, and the runner
 * reads on once the machine answers again.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { toBerthError } from '../../core/errors.js';
import { RemoteArtifacts } from '../../targets/ssh/artifacts.js';
import type { ResolvedSshTargetConfig } from '../../targets/ssh/config.js';
import { SshConnection } from '../../targets/ssh/connection.js';
import { checkMachine, readMachine } from '../../targets/ssh/machine.js';
import { substituteCommand } from '../definition.js';
import { nodeModuleFiles } from '../node-module.js';
import { hasCompiledTypeScript, typeScriptNodeOptions } from '../typescript.js';
import { pythonModuleName, pythonModuleSource } from '../python-module.js';
import type { RunStatus } from '../records.js';
import type { RunFolder } from '../run-folder.js';
import { RemoteRun } from './remote-run.js';

const pollMs = 500;

/**
 * Runs the job: one attempt, and another after an attempt whose process was killed by a signal
 * berth did not send (the OOM killer, a `kill` by hand), up to `limits.max_retries` times (default
 * 2), as a cluster run is retried when its worker disappears. A command that exits with a code of
 * its own, a cancel and `limits.timeout` are not retried.
 */
export async function runSshJob(
  folder: RunFolder,
  config: ResolvedSshTargetConfig,
  signal: AbortSignal,
): Promise<RunStatus> {
  const { maxRetries } = (await folder.record()).definition;
  for (;;) {
    const { status, killedBy } = await runSshAttempt(folder, config, signal, maxRetries);
    if (killedBy === undefined || signal.aborted || status.state !== 'Preparing') return status;
    const attempt = status.attempts.length;
    await appendFile(
      folder.logFile(0),
      `[berth] attempt ${attempt} was killed by signal ${killedBy}: retrying (${attempt} of max_retries ${maxRetries})\n`,
    );
  }
}

interface AttemptResult {
  status: RunStatus;
  /** The signal that killed a rank's command, when nothing berth did explains it: the attempt may be retried. */
  killedBy: number | undefined;
}

export async function runSshAttempt(
  folder: RunFolder,
  config: ResolvedSshTargetConfig,
  signal: AbortSignal,
  maxRetries = 0,
): Promise<AttemptResult> {
  const record = await folder.record();
  const definition = record.definition;
  const previous = await folder.status();
  await folder.updateStatus({ state: 'Preparing', reason: undefined, runnerPid: process.pid });
  const connection = new SshConnection(config);
  try {
    const facts = await readMachine(connection, config);
    checkMachine(facts, config, connection.where, 0);
    // Shipped before anything is written into the local code folder, so its name is the snapshot's.
    const code = await new RemoteArtifacts(connection, facts.workdir, config.cacheDir).ship(
      'code',
      folder.workDir,
    );
    const run = new RemoteRun(connection, `${facts.workdir}/jobs/${record.id}`);
    const typeScript = hasCompiledTypeScript(folder.workDir);
    try {
      await run.prepare(code.remoteDir, definition.outputs, {
        [`sdk/python/${pythonModuleName}.py`]: pythonModuleSource,
        ...Object.fromEntries(
          Object.entries(nodeModuleFiles).map(([path, text]) => [`node_modules/berth-run/${path}`, text]),
        ),
      });
      const inputs = { ...definition.inputs };
      for (const [name, input] of Object.entries(definition.inputs)) {
        if (input.kind === 'path') inputs[name] = { ...input, path: await run.shipInput(name, input.path) };
      }
      const outputs = Object.fromEntries(
        definition.outputs.map((name) => [name, `${run.codeDir}/outputs/${name}`]),
      );
      return await execute(folder, run, connection.where, {
        command: substituteCommand(definition.command, inputs, outputs),
        localCommand: substituteCommand(
          definition.command,
          definition.inputs,
          Object.fromEntries(definition.outputs.map((name) => [name, `${folder.outputsDir}/${name}`])),
        ),
        environment: {
          ...definition.environmentVariables,
          BERTH_RUN_ID: record.id,
          AZUREML_RUN_ID: record.id,
          BERTH_RUN_METRICS: run.metricsFile,
          BERTH_RUN_HISTORY: run.historyDir,
          BERTH_OUTPUTS_DIR: `${run.codeDir}/outputs`,
          WORLD_SIZE: String(definition.instanceCount),
          LOCAL_WORLD_SIZE: String(definition.instanceCount),
          NODE_RANK: '0',
          GROUP_RANK: '0',
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(20_000 + Math.floor(Math.random() * 40_000)),
          PYTHONPATH: `${run.dir}/sdk/python`,
          PYTHONUNBUFFERED: '1',
          ...(typeScript
            ? {
                NODE_OPTIONS: typeScriptNodeOptions(run.dir, definition.environmentVariables.NODE_OPTIONS),
              }
            : {}),
        },
        ranks: definition.instanceCount,
        timeoutSeconds: definition.timeoutSeconds,
        attempt: previous.attempts.length + 1,
        maxRetries,
        startedBefore: previous.startedAt,
        signal,
      });
    } finally {
      await run.remove().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

interface Execution {
  command: string;
  /** The command as recorded: references bound to the paths here. */
  localCommand: string;
  environment: Record<string, string>;
  ranks: number;
  timeoutSeconds: number | undefined;
  attempt: number;
  /** Attempts killed by a signal are retried while `attempt <= maxRetries`. */
  maxRetries: number;
  startedBefore: string | undefined;
  signal: AbortSignal;
}

async function execute(
  folder: RunFolder,
  run: RemoteRun,
  where: string,
  options: Execution,
): Promise<AttemptResult> {
  const sessions = await run.start(options.command, options.environment, options.ranks);
  const startedAt = new Date().toISOString();
  const status = await folder.status();
  await folder.updateStatus({
    state: 'Running',
    command: options.localCommand,
    startedAt: options.startedBefore ?? startedAt,
    // The groups are on the machine: nothing here may signal them by these numbers.
    processGroups: [],
    attempts: [
      ...status.attempts,
      { attempt: options.attempt, startedAt, where: `ssh ${where} (sessions ${sessions.join(', ')})` },
    ],
  });
  const deadline =
    options.timeoutSeconds === undefined ? Infinity : Date.now() + options.timeoutSeconds * 1000;
  const offsets = new Map<string, number>();
  const pull = async (): Promise<void> => {
    const files: [string, string][] = [
      ...Array.from({ length: options.ranks }, (_, rank): [string, string] => [
        `rank-${rank}.log`,
        folder.logFile(rank),
      ]),
      ['metrics.jsonl', folder.metricsFile],
    ];
    for (const [remote, local] of files) {
      const bytes = await run.readFrom(remote, offsets.get(remote) ?? 0);
      if (bytes.length === 0) continue;
      offsets.set(remote, (offsets.get(remote) ?? 0) + bytes.length);
      await appendFile(local, bytes);
    }
  };
  let ending: { state: 'Failed' | 'Canceled'; reason: string } | undefined;
  let exits = new Map<number, number>();
  let timedOut = false;
  for (;;) {
    if (options.signal.aborted) ending = { state: 'Canceled', reason: 'canceled by request' };
    else if (Date.now() > deadline) {
      timedOut = true;
      ending = { state: 'Failed', reason: `ran past limits.timeout of ${options.timeoutSeconds}s` };
    }
    if (ending !== undefined) {
      await run.end(sessions, 5000);
      break;
    }
    try {
      exits = await run.exits();
      await pull();
    } catch (error) {
      // The machine is away: the command runs on; read again once it answers.
      await appendFile(folder.logFile(0), `[berth] ${where}: ${toBerthError(error).message}; retrying\n`);
    }
    const failed = [...exits].find(([, code]) => code !== 0);
    if (failed !== undefined && options.ranks > 1) {
      ending = {
        state: 'Failed',
        reason: `rank ${failed[0]} exited with code ${failed[1]}; the other ranks were ended`,
      };
      await run.end(sessions, 5000);
      break;
    }
    if (exits.size >= options.ranks) break;
    await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
  await pull().catch(() => undefined);
  await mkdir(folder.outputsDir, { recursive: true });
  await run.fetchResults(folder.dir);
  const exitCode =
    [...exits].find(([, code]) => code !== 0)?.[1] ?? exits.get(0) ?? (ending === undefined ? 0 : 143);
  // A shell reports a command killed by signal N as 128 + N; berth's own ends (cancel, timeout) excluded.
  const killed = [...exits.values()].find((code) => code > 128 && code < 128 + 32);
  const killedBy = killed === undefined || options.signal.aborted || timedOut ? undefined : killed - 128;
  const retry = killedBy !== undefined && options.attempt <= options.maxRetries;
  const final =
    ending ??
    (exitCode === 0
      ? { state: 'Completed' as const, reason: undefined }
      : {
          state: 'Failed' as const,
          reason: `exited with code ${exitCode} (see berth job logs ${folder.id})`,
        });
  const reason =
    killedBy === undefined || retry
      ? final.reason
      : `${final.reason}; killed by signal ${killedBy} on ${options.attempt} attempt(s), more than max_retries (${options.maxRetries})`;
  const endedAt = new Date().toISOString();
  const latest = await folder.status();
  const attempts = latest.attempts.map((a) =>
    a.attempt === options.attempt ? { ...a, endedAt, exitCode, reason } : a,
  );
  // A run to be retried never shows an end: whoever waits for it waits for the next attempt.
  const ended = await folder.updateStatus(
    retry
      ? {
          state: 'Preparing',
          reason: `retrying: attempt ${options.attempt} was killed by signal ${killedBy}`,
          attempts,
        }
      : { state: final.state, reason, endedAt, exitCode, attempts },
  );
  return { status: ended, killedBy };
}
