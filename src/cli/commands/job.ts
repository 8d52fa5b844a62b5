import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import type { JobOperations, JobView } from '../../sdk/jobs.js';
import type { CliContext } from '../context.js';
import { printJson, printTable } from '../output.js';
import { describeJob } from './job-describe.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1)
      throw new BerthError(
        'BAD_INPUT',
        `${flag} ${JSON.stringify(value)}: expected a whole number of at least 1`,
      );
    return number;
  };
}

/** A job that did not complete makes the command fail with its reason. */
function failUnlessCompleted(job: JobView): void {
  if (job.state !== 'Completed')
    throw new BerthError('RUN_FAILED', `job ${job.id} ${job.state}: ${job.reason ?? 'see berth job show'}`);
}

interface CreateFlags {
  file?: string;
  command?: string;
  code?: string;
  input: string[];
  output: string[];
  env: string[];
  target?: string;
  instanceCount?: number;
  timeout?: number;
  name?: string;
  stream?: boolean;
  json?: boolean;
}

export function registerJobCommands(program: Command, context: CliContext): void {
  const job = program
    .command('job')
    .description(
      'run a command (training, or anything) on a target and keep its history: create, list, show, logs, cancel, download',
    );

  const withJobs = async <T>(body: (jobs: JobOperations) => Promise<T>): Promise<T> => {
    const workspace = await context.openWorkspace();
    try {
      return await body(workspace.jobs);
    } finally {
      await workspace.close();
    }
  };

  job
    .command('create')
    .description('snapshot the code and start a job (Azure ML command job file, or flags); prints its id')
    .option(
      '-f, --file <job.yml>',
      'command job YAML: command, code, inputs, outputs, environment_variables, compute, environment.conda_file (Python packages for a container job), resources (instance_count; cpu, memory, shm_size: container limits), limits.timeout',
    )
    .option('--command <command>', 'the command, with ${{inputs.NAME}} and ${{outputs.NAME}} references')
    .option('--code <dir>', 'the code folder, snapshotted (honours .gitignore and .amlignore) and run in')
    .option(
      '--input <name=value>',
      'an input: an existing file or folder is bound as its path, anything else as a value; repeat',
      collect,
      [],
    )
    .option(
      '--output <name>',
      'a named output: a folder outputs/NAME, kept with the job; repeat',
      collect,
      [],
    )
    .option('--env <name=value>', 'an environment variable; repeat', collect, [])
    .option(
      '--target <name>',
      "where to run instead of the file's compute: local (default), a container or cluster target",
    )
    .option(
      '--instance-count <n>',
      'processes to start, each with RANK and WORLD_SIZE',
      positiveInteger('--instance-count'),
    )
    .option(
      '--timeout <seconds>',
      'end the job after this long (limits.timeout)',
      positiveInteger('--timeout'),
    )
    .option('--name <name>', "display name (default: the file's display_name, else the command's first word)")
    .option('--stream', "print the job's output until it ends; fail unless it completes")
    .option('--json', 'print the job as JSON')
    .action(async (flags: CreateFlags) => {
      if (flags.file === undefined && flags.command === undefined)
        throw new BerthError('BAD_INPUT', 'give a job file (-f job.yml) or a --command to run');
      await withJobs(async (jobs) => {
        const { job: created, warnings } = await jobs.create({
          file: flags.file,
          command: flags.command,
          code: flags.code,
          inputs: flags.input,
          outputs: flags.output,
          env: flags.env,
          target: flags.target,
          instanceCount: flags.instanceCount,
          timeoutSeconds: flags.timeout,
          displayName: flags.name,
        });
        for (const warning of warnings) context.io.stderr.write(`warning: ${warning}\n`);
        if (!flags.stream) {
          if (flags.json) printJson(context.io, created);
          else context.io.stdout.write(`job ${created.id} ${created.state} (berth job show ${created.id})\n`);
          return;
        }
        context.io.stderr.write(`job ${created.id} ${created.state}\n`);
        for await (const chunk of jobs.logs(created.id, { follow: true })) {
          (flags.json ? context.io.stderr : context.io.stdout).write(chunk);
        }
        const ended = await jobs.wait(created.id);
        if (flags.json) printJson(context.io, ended);
        else
          context.io.stderr.write(
            `job ${ended.id} ${ended.state}${ended.reason ? ` — ${ended.reason}` : ''}\n`,
          );
        failUnlessCompleted(ended);
      });
    });

  job
    .command('list')
    .description('list jobs, newest first')
    .option('--json', 'print a JSON array of jobs')
    .action(async (flags: { json?: boolean }) => {
      const all = await withJobs((jobs) => jobs.list());
      if (flags.json) return printJson(context.io, all);
      if (all.length === 0) return void context.io.stdout.write('no jobs (see `berth job create --help`)\n');
      printTable(
        context.io,
        ['ID', 'NAME', 'STATE', 'TARGET', 'CREATED', 'EXIT'],
        all.map((j) => [
          j.id,
          j.name,
          j.state,
          j.compute,
          j.createdAt.slice(0, 19).replace('T', ' '),
          j.exitCode === undefined ? '-' : String(j.exitCode),
        ]),
      );
    });

  job
    .command('show')
    .description(
      "show a job: status and reason, command, code, attempts, each metric's last value and chart, its tables and images",
    )
    .argument('<id>', 'the job id')
    .option('--json', 'print the job as JSON (metrics: the last value of each series)')
    .action(async (id: string, flags: { json?: boolean }) => {
      await withJobs(async (jobs) => {
        const shown = await jobs.show(id);
        if (flags.json) printJson(context.io, shown);
        else context.io.stdout.write(describeJob(shown, await jobs.metrics(id)));
      });
    });

  job
    .command('logs')
    .description("print a job's output (stdout and stderr of the command)")
    .argument('<id>', 'the job id')
    .option('--follow', 'keep printing until the job ends')
    .option('--rank <n>', 'the output of this process of a multi-process job (default 0)', '0')
    .action(async (id: string, flags: { follow?: boolean; rank: string }) => {
      const rank = Number(flags.rank);
      if (!Number.isInteger(rank) || rank < 0)
        throw new BerthError('BAD_INPUT', `--rank ${JSON.stringify(flags.rank)}: expected 0 or more`);
      await withJobs(async (jobs) => {
        for await (const chunk of jobs.logs(id, { follow: flags.follow === true, rank }))
          context.io.stdout.write(chunk);
      });
    });

  job
    .command('cancel')
    .description("stop a job's whole process tree; the job ends Canceled")
    .argument('<id>', 'the job id')
    .option('--json', 'print the job as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const canceled = await withJobs((jobs) => jobs.cancel(id));
      if (flags.json) printJson(context.io, canceled);
      else context.io.stdout.write(`job ${canceled.id} ${canceled.state}\n`);
    });

  job
    .command('download')
    .description(
      'copy what a job kept: outputs/, logs/, user_logs/ (its stdout and stderr), metrics.jsonl, tables/, images/',
    )
    .argument('<id>', 'the job id')
    .requiredOption('-o, --output <dir>', 'the folder to copy into')
    .action(async (id: string, flags: { output: string }) => {
      const destination = await withJobs((jobs) => jobs.download(id, flags.output));
      context.io.stdout.write(`downloaded job ${id} to ${destination}\n`);
    });
}
