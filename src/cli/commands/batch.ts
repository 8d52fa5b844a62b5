import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import type { BatchOperations } from '../../sdk/batch.js';
import type { BatchJobStatus, BatchProgress } from '../../sdk/batch.js';
import type { CliContext } from '../context.js';
import type { CliIo } from '../output.js';
import { printJson, printTable } from '../output.js';

function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** done/total, rate and ETA on stderr, redrawn in place; only on a terminal, so logs and pipes stay quiet. */
function createBatchProgressBar(io: CliIo): ((progress: BatchProgress) => void) & { finish(): void } {
  let drawn = false;
  let last = 0;
  const draw = (progress: BatchProgress): void => {
    if (!io.stderr.isTTY) return;
    const now = Date.now();
    const done = progress.items.succeeded + progress.items.failed;
    if (done < progress.items.total && now - last < 200) return;
    last = now;
    drawn = true;
    const share = progress.items.total === 0 ? 1 : done / progress.items.total;
    const width = Math.max(10, Math.min(30, (io.stderr.columns ?? 80) - 60));
    const filled = Math.round(share * width);
    const failed = progress.items.failed > 0 ? ` ${progress.items.failed} failed` : '';
    io.stderr.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${progress.items.total} items${failed}  ` +
        `${progress.itemsPerSecond.toFixed(1)} items/s  ETA ${formatDuration(progress.etaSeconds)}\u001b[K`,
    );
  };
  return Object.assign(draw, {
    finish(): void {
      if (drawn) io.stderr.write('\n');
    },
  });
}

function describeStatus(status: BatchJobStatus): string {
  const mb = status.miniBatches;
  const lines = [
    `job ${status.id}  (${status.deployment}, on ${status.target} (${status.engine}), ${status.inputType})`,
    `  state:        ${status.state}${status.reason ? ` — ${status.reason}` : ''}`,
    `  mini-batches: ${mb.succeeded}/${mb.total} done, ${mb.failed} failed, ${mb.retried} retried, ${mb.running} running`,
    `  items:        ${status.items.succeeded + status.items.failed}/${status.items.total} done, ${status.items.failed} failed`,
  ];
  if (status.state === 'running') {
    lines.push(
      `  rate:         ${status.itemsPerSecond.toFixed(1)} items/s, ETA ${formatDuration(status.etaSeconds)}`,
    );
  }
  const error = status.firstError;
  if (error !== undefined) {
    const where = [
      error.miniBatch !== undefined ? `mini-batch ${error.miniBatch}` : undefined,
      error.attempt !== undefined ? `attempt ${error.attempt}` : undefined,
      error.worker !== undefined ? `on ${error.worker}` : undefined,
      error.key !== undefined ? `item ${error.key}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  first error:  ${error.code}: ${error.message}${where ? ` (${where})` : ''}`);
    if (error.worker !== undefined)
      lines.push(`                see: berth batch logs ${status.id} --worker ${error.worker}`);
  }
  const workers = status.targetWorkers;
  if (workers !== undefined) {
    lines.push(
      `  ${`${status.engine}:`.padEnd(13)} ${workers.object}: ${workers.state}${workers.reason === undefined ? '' : ` — ${workers.reason}`}`,
    );
  }
  if (status.state === 'interrupted') lines.push(`  resume with:  berth batch resume ${status.id}`);
  if (status.output.predictions) lines.push(`  predictions:  ${status.output.predictions}`);
  if (status.output.report) lines.push(`  report:       ${status.output.report}`);
  return `${lines.join('\n')}\n`;
}

/** Prints the final status; a job that did not complete makes the command fail with its reason. */
function finish(io: CliIo, status: BatchJobStatus, json: boolean | undefined): void {
  if (json) printJson(io, status);
  else io.stdout.write(describeStatus(status));
  if (status.state === 'failed' || status.state === 'canceled') {
    throw new BerthError(
      'RUN_FAILED',
      `batch job ${status.id} ${status.state}: ${status.reason ?? 'see berth batch status'}`,
    );
  }
}

export function registerBatchCommands(program: Command, context: CliContext): void {
  const batch = program
    .command('batch')
    .description('score a data set in mini-batches: run, status, logs, resume, cancel, list');

  const withBatch = async <T>(body: (operations: BatchOperations) => Promise<T>): Promise<T> => {
    const workspace = await context.openWorkspace();
    try {
      return await body(workspace.batch);
    } finally {
      await workspace.close();
    }
  };

  batch
    .command('run')
    .description(
      "plan and run a batch job to its end, on the file's compute (default local: worker processes on this machine)",
    )
    .requiredOption(
      '-f, --file <deployment.yml>',
      'batch deployment YAML (Azure ML batch deployment: run settings at the top level or under settings:)',
    )
    .requiredOption('-i, --input <paths...>', 'folders, files or globs to score')
    .requiredOption('-o, --output <dir>', 'folder for the predictions file and job-report.json')
    .option(
      '--input-type <type>',
      'auto, files or tabular (default: auto — tabular when every file is .csv/.jsonl/.parquet)',
      'auto',
    )
    .option(
      '--target <name>',
      "where to run instead of the file's compute: local, a target from berth target create (NAME or azureml:NAME), or cluster:redis://host:port",
    )
    .option('--gpus <ids>', 'comma-separated device ids, one per worker process (sets CUDA_VISIBLE_DEVICES)')
    .option(
      '--dry-run',
      "run nothing: write the objects the target would create (a kubernetes target's Job) into --output",
    )
    .option('--json', 'print the final job status as JSON')
    .action(
      async (options: {
        dryRun?: boolean;
        target?: string;
        file: string;
        input: string[];
        output: string;
        inputType: string;
        gpus?: string;
        json?: boolean;
      }) => {
        if (!['auto', 'files', 'tabular'].includes(options.inputType)) {
          throw new BerthError(
            'BAD_INPUT',
            `--input-type ${JSON.stringify(options.inputType)}: use auto, files or tabular`,
          );
        }
        if (options.dryRun) {
          const written = await withBatch((operations) =>
            operations.writeManifests({
              deploymentFile: options.file,
              output: options.output,
              target: options.target,
              onWarning: (message) => context.io.stderr.write(`berth: warning: ${message}\n`),
            }),
          );
          for (const warning of written.warnings) context.io.stderr.write(`berth: warning: ${warning}\n`);
          if (options.json) printJson(context.io, written);
          else context.io.stdout.write(written.files.map((file) => `wrote ${file}\n`).join(''));
          return;
        }
        const bar = createBatchProgressBar(context.io);
        const status = await withBatch((operations) =>
          operations.run({
            deploymentFile: options.file,
            input: options.input,
            output: options.output,
            inputType: options.inputType as 'auto' | 'files' | 'tabular',
            target: options.target,
            gpus: options.gpus
              ?.split(',')
              .map((id) => id.trim())
              .filter((id) => id !== ''),
            onCreated: (id) => {
              if (!options.json) context.io.stderr.write(`job ${id} started\n`);
            },
            onWarning: (message) => context.io.stderr.write(`berth: warning: ${message}\n`),
            onProgress: bar,
          }),
        );
        bar.finish();
        finish(context.io, status, options.json);
      },
    );

  batch
    .command('status')
    .description('progress, mini-batches done/failed/retried, items/s, ETA and the first error')
    .argument('<job>', 'job id (see berth batch list)')
    .option('--json', 'print the status as JSON')
    .action(async (jobId: string, options: { json?: boolean }) => {
      const status = await withBatch((operations) => operations.status(jobId));
      if (options.json) printJson(context.io, status);
      else context.io.stdout.write(describeStatus(status));
    });

  batch
    .command('logs')
    .description("a job's logs in time order: every worker's and the coordinator's (job), or one worker's")
    .argument('<job>', 'job id')
    .option('--worker <name>', 'only this worker (w1, w2, …; job for the coordinator)')
    .option('--json', 'print a JSON array of {worker, time, line}')
    .action(async (jobId: string, options: { worker?: string; json?: boolean }) => {
      const lines = await withBatch((operations) => operations.logs(jobId, { worker: options.worker }));
      if (options.json) printJson(context.io, lines);
      else
        context.io.stdout.write(
          lines.map((line) => `${line.time} ${line.worker.padEnd(4)} ${line.line}\n`).join(''),
        );
    });

  batch
    .command('resume')
    .description('run the mini-batches that have no result yet (after the submitter or the workers died)')
    .argument('<job>', 'job id')
    .option('--json', 'print the final job status as JSON')
    .action(async (jobId: string, options: { json?: boolean }) => {
      const bar = createBatchProgressBar(context.io);
      const status = await withBatch((operations) => operations.resume(jobId, { onProgress: bar }));
      bar.finish();
      finish(context.io, status, options.json);
    });

  batch
    .command('cancel')
    .description('stop a job: its running mini-batches are abandoned; resume can finish it later')
    .argument('<job>', 'job id')
    .option('--json', 'print the job status as JSON')
    .action(async (jobId: string, options: { json?: boolean }) => {
      const status = await withBatch((operations) => operations.cancel(jobId));
      if (options.json) printJson(context.io, status);
      else context.io.stdout.write(`job ${status.id}: ${status.state}\n`);
    });

  batch
    .command('list')
    .description('list the batch jobs of the workspace')
    .option('--json', 'print a JSON array of job statuses')
    .action(async (options: { json?: boolean }) => {
      const jobs = await withBatch((operations) => operations.list());
      if (options.json) {
        printJson(context.io, jobs);
        return;
      }
      if (jobs.length === 0) {
        context.io.stdout.write('no batch jobs (see `berth batch run --help`)\n');
        return;
      }
      printTable(
        context.io,
        ['JOB', 'DEPLOYMENT', 'STATE', 'ITEMS', 'FAILED', 'CREATED'],
        jobs.map((job) => [
          job.id,
          job.deployment,
          job.state,
          `${job.items.succeeded + job.items.failed}/${job.items.total}`,
          String(job.items.failed),
          job.createdAt.slice(0, 19).replace('T', ' '),
        ]),
      );
    });
}
