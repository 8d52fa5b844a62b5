import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import {
  profilePlan,
  profileSettings,
  profileSummary,
  readSamples,
  runProfile,
  samplesFromSignature,
} from '../../sdk/profile/index.js';
import { openProfileSite } from '../../sdk/profile/site.js';
import type { ProfileStep } from '../../sdk/profile/recommend.js';
import type { CliContext } from '../context.js';
import { formatBytes, printJson, printTable } from '../output.js';
import { modelsToServe } from './serve-models.js';

interface ProfileCommandFlags {
  requests?: string;
  duration: string;
  latencySlo?: string;
  maxConcurrency: string;
  targetRps?: string;
  target?: string;
  batchSizes: string;
  output: string;
  save: boolean;
  json?: boolean;
}

function stepLine(step: ProfileStep): string {
  const latency =
    step.latencyMs === null ? 'no answers' : `p50 ${step.latencyMs.p50}ms p99 ${step.latencyMs.p99}ms`;
  const batch = step.maxBatchSize > 1 ? ` max_batch_size ${step.maxBatchSize}` : '';
  return `c=${step.concurrency}${batch}: ${step.rps} rps, ${latency}, ${step.errors} errors\n`;
}

export function registerProfileCommand(program: Command, context: CliContext): void {
  program
    .command('profile')
    .description(
      'start a trial replica of a model (on this machine, or in a container with --target), drive it at rising concurrency for each max_batch_size tried, and recommend CPU, memory, concurrency, max_batch_size and instances',
    )
    .argument('<model>', 'NAME or NAME:VERSION')
    .option(
      '--requests <file>',
      'JSONL, one request body per line (/score, or v2 infer when it has "inputs"); default: a sample made from the signature',
    )
    .option(
      '--duration <time>',
      'total load time, shared by the steps and the fixed-rate checks, e.g. 20s (1s to 10m)',
      '20s',
    )
    .option(
      '--latency-slo <slo>',
      'e.g. p99=50ms (p50, p90, p95, p99 or p99.9); default: none, any error-free step counts',
    )
    .option('--max-concurrency <n>', 'last load step; steps are 1, 2, 4, … up to it (1 to 256)', '16')
    .option('--target-rps <rps>', 'also recommend the instance count for this many requests per second')
    .option(
      '--target <name>',
      'where the trial replica runs: local, or a container target (container, or one from berth target create)',
      'local',
    )
    .option(
      '--batch-sizes <list>',
      'max_batch_size settings to try, e.g. 1,4,16; auto: 1, 4 and 16 (up to --max-concurrency) when the model has a batch dimension, else 1',
      'auto',
    )
    .option('--output <dir>', 'where profile.json and latency.svg are written', 'profile')
    .option(
      '--no-save',
      'do not keep the result with the model version (kept by default: berth model show and berth target recommend --model read it)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (reference: string, flags: ProfileCommandFlags) => {
      const settings = profileSettings(flags);
      const workspace = await context.openWorkspace();
      try {
        const [model] = await modelsToServe(workspace, [reference]);
        if (model === undefined) throw new BerthError('NOT_FOUND', `model ${reference} not found`);
        const samples =
          flags.requests === undefined
            ? samplesFromSignature(model.signature, model)
            : await readSamples(flags.requests, model);
        const plan = profilePlan(settings, model.signature);
        const site = await openProfileSite(workspace, flags.target, model, (message) => {
          if (flags.json !== true) context.io.stderr.write(`${message}\n`);
        });
        let result;
        try {
          result = await runProfile(site, model, samples, settings, plan, flags.output, (step) => {
            if (flags.json !== true) context.io.stderr.write(stepLine(step));
          });
        } finally {
          await site.close();
        }
        const ref = `${model.name}:${model.version}`;
        if (flags.save) await workspace.models.saveProfile(ref, profileSummary(result));
        if (flags.json === true) {
          printJson(context.io, result);
          return;
        }
        for (const check of result.confirmations) {
          const latency = check.latencyMs === null ? 'no answers' : `p99 ${check.latencyMs.p99}ms`;
          context.io.stdout.write(
            `fixed rate ${check.rps} rps (max_batch_size ${check.maxBatchSize}, c=${check.concurrency}): ` +
              `${check.achievedRps} answered/s, ${latency}, ${check.errors} errors: ${check.withinSlo ? 'sustained' : 'not sustained'}\n`,
          );
        }
        printTable(
          context.io,
          [
            'BATCH',
            'CONCURRENCY',
            'RPS',
            'P50 MS',
            'P90 MS',
            'P95 MS',
            'P99 MS',
            'P99.9 MS',
            'ERRORS',
            'CPU',
            'PEAK RSS',
            'SLO',
          ],
          result.steps.map((s) => [
            String(s.maxBatchSize),
            String(s.concurrency),
            String(s.rps),
            ...(['p50', 'p90', 'p95', 'p99', 'p99.9'] as const).map((p) =>
              s.latencyMs === null ? '-' : String(s.latencyMs[p]),
            ),
            String(s.errors),
            s.cpuCores === null ? '-' : String(s.cpuCores),
            s.peakRssBytes === null ? '-' : formatBytes(s.peakRssBytes),
            s.withinSlo ? 'yes' : 'no',
          ]),
        );
        const r = result.recommendation;
        context.io.stdout.write(
          `profiled on ${result.target.name} (${result.target.cores} cores)\n` +
            `max sustained RPS within the SLO: ${result.maxSustainedRps ?? 'none (no step within it)'}\n` +
            `recommendation: memory ${r.memory ?? 'unmeasured'} (${r.memoryRule}), cpu ${r.cpu ?? 'unmeasured'}, ` +
            `max_concurrent_requests_per_instance ${r.maxConcurrentRequestsPerInstance ?? '-'}, ` +
            `max_batch_size ${r.maxBatchSize === null ? '-' : r.maxBatchSize === 1 ? '1 (batching off)' : r.maxBatchSize}` +
            (r.targetRps === null ? '' : `, instances for ${r.targetRps} rps: ${r.instances ?? '-'}`) +
            `\nwrote ${result.files.json} and ${result.files.svg}` +
            (flags.save ? `; kept with model ${ref} (berth target recommend --model ${ref})` : '') +
            '\n',
        );
      } finally {
        await workspace.close();
      }
    });
}
