import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import { parseMemory } from '../../core/specs/index.js';
import { formatBytes, listTargets, recommend, showTarget, type TargetRow } from '../../sdk/targets.js';
import type { CliContext } from '../context.js';
import { printJson, printTable } from '../output.js';

function size(flag: string) {
  return (value: string): number => {
    const bytes = parseMemory(value);
    if (bytes === undefined)
      throw new BerthError('BAD_INPUT', `${flag}: expected a size such as 2GB or 512MB, not ${value}`);
    return bytes;
  };
}

function positive(value: string): number {
  const parsed = Number(value);
  if (!(parsed > 0)) throw new BerthError('BAD_INPUT', `--rps must be a positive number, not ${value}`);
  return parsed;
}

function limit(bytes: number | undefined): string {
  return bytes === undefined ? '-' : formatBytes(bytes);
}

function describeRow(row: TargetRow): string {
  return [
    `${row.kind}${row.implemented ? '' : '  (not implemented yet)'}`,
    `  used for:   ${row.usedFor}`,
    `  engine:     ${row.engine}`,
    `  real-time:  ${row.realtime ? 'yes' : 'no'}${row.eventDriven ? ' (event-driven)' : ''}`,
    `  batch:      ${row.batch ? 'yes' : 'no'}`,
    `  GPU:        ${row.gpu === 'host' ? "the host's" : row.gpu ? 'yes' : 'no'}`,
    `  autoscale:  ${row.autoscale ? 'yes' : 'no'}`,
    `  max model:  ${limit(row.maxModelBytes)}`,
    `  max memory: ${limit(row.maxMemoryBytes)}`,
    `  limits:     ${row.enforcesResources ? 'enforced' : 'not enforced'}`,
    `  offline:    ${row.offline ? 'yes' : 'no'}`,
    `  stages:     ${row.stages.join(', ')}`,
  ].join('\n');
}

export function registerTargetCommands(program: Command, context: CliContext): void {
  const target = program.command('target').description('the compute targets: capabilities and advice');

  target
    .command('list')
    .description('the capabilities table: one row per target kind')
    .option('--json', 'print the table as JSON')
    .action((options: { json?: boolean }) => {
      const rows = listTargets();
      if (options.json) {
        printJson(context.io, rows);
        return;
      }
      printTable(
        context.io,
        ['KIND', 'USED FOR', 'REAL-TIME', 'BATCH', 'GPU', 'AUTOSCALE', 'MAX MODEL', 'STATUS'],
        rows.map((row) => [
          row.kind,
          row.usedFor,
          row.realtime ? 'yes' : 'no',
          row.batch ? 'yes' : 'no',
          row.gpu === 'host' ? 'host' : row.gpu ? 'yes' : 'no',
          row.autoscale ? 'yes' : 'no',
          limit(row.maxModelBytes),
          row.implemented ? 'ready' : 'not implemented',
        ]),
      );
    });

  target
    .command('show')
    .description('one row of the capabilities table')
    .argument('<kind>', 'local, ssh, container, kubernetes, cluster, function or edge')
    .option('--json', 'print the row as JSON')
    .action((kind: string, options: { json?: boolean }) => {
      const row = showTarget(kind);
      if (options.json) printJson(context.io, row);
      else context.io.stdout.write(`${describeRow(row)}\n`);
    });

  target
    .command('recommend')
    .description('which target fits a workload, and how to size it')
    .option('--realtime', 'real-time requests (default)')
    .option('--batch', 'batch inference over a data set')
    .option('--gpu', 'the model needs a GPU')
    .option('--model-size <size>', "size of the model's files, e.g. 2GB", size('--model-size'))
    .option('--memory <size>', 'memory the loaded model needs, e.g. 8GB', size('--memory'))
    .option('--rps <n>', 'expected requests per second', positive)
    .option('--offline', 'must keep serving with no link to the cloud')
    .option('--stage <stage>', 'dev, test or production (default production)')
    .option('--json', 'print the recommendation as JSON')
    .action(
      (options: {
        realtime?: boolean;
        batch?: boolean;
        gpu?: boolean;
        modelSize?: number;
        memory?: number;
        rps?: number;
        offline?: boolean;
        stage?: string;
        json?: boolean;
      }) => {
        if (options.realtime && options.batch)
          throw new BerthError('BAD_INPUT', 'give --realtime or --batch, not both');
        const stage = options.stage;
        if (stage !== undefined && stage !== 'dev' && stage !== 'test' && stage !== 'production') {
          throw new BerthError('BAD_INPUT', `--stage must be dev, test or production, not ${stage}`);
        }
        const advice = recommend({
          mode: options.batch ? 'batch' : 'realtime',
          gpu: options.gpu === true,
          modelBytes: options.modelSize ?? 0,
          memoryBytes: options.memory,
          requestsPerSecond: options.rps,
          offline: options.offline === true,
          stage,
        });
        if (options.json) {
          printJson(context.io, advice);
          return;
        }
        const lines = [`recommended: ${advice.target}`, `  ${advice.reason}`];
        if (advice.alternatives.length > 0)
          lines.push('alternatives:', ...advice.alternatives.map((a) => `  ${a.target}: ${a.reason}`));
        if (advice.ruledOut.length > 0)
          lines.push('ruled out:', ...advice.ruledOut.map((r) => `  ${r.reason}`));
        lines.push('sizing:', ...advice.sizing.advice.map((line) => `  - ${line}`));
        context.io.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
