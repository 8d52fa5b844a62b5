import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import { profileSettings, readSamples, runProfile, samplesFromSignature } from '../../sdk/profile/index.js';
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
  output: string;
  json?: boolean;
}

function stepLine(step: ProfileStep): string {
  const latency =
    step.latencyMs === null ? 'no answers' : `p50 ${step.latencyMs.p50}ms p99 ${step.latencyMs.p99}ms`;
  return `c=${step.concurrency}: ${step.rps} rps, ${latency}, ${step.errors} errors\n`;
}

export function registerProfileCommand(program: Command, context: CliContext): void {
  program
    .command('profile')
    .description(
      'start a trial scoring server for a model on this machine, drive it at rising concurrency, and recommend CPU, memory, concurrency and instances',
    )
    .argument('<model>', 'NAME or NAME:VERSION')
    .option(
      '--requests <file>',
      'JSONL, one request body per line (/score, or v2 infer when it has "inputs"); default: a sample made from the signature',
    )
    .option('--duration <time>', 'total load time, shared by the steps, e.g. 20s (1s to 10m)', '20s')
    .option(
      '--latency-slo <slo>',
      'e.g. p99=50ms (p50, p90, p95, p99 or p99.9); default: none, any error-free step counts',
    )
    .option('--max-concurrency <n>', 'last load step; steps are 1, 2, 4, … up to it (1 to 256)', '16')
    .option('--target-rps <rps>', 'also recommend the instance count for this many requests per second')
    .option('--output <dir>', 'where profile.json and latency.svg are written', 'profile')
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
        const result = await runProfile(model, samples, settings, flags.output, (step) => {
          if (flags.json !== true) context.io.stderr.write(stepLine(step));
        });
        if (flags.json === true) {
          printJson(context.io, result);
          return;
        }
        printTable(
          context.io,
          [
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
          `max sustained RPS within the SLO: ${result.maxSustainedRps ?? 'none (no step within it)'}\n` +
            `recommendation: memory ${r.memory ?? 'unmeasured'} (${r.memoryRule}), cpu ${r.cpu ?? 'unmeasured'}, ` +
            `max_concurrent_requests_per_instance ${r.maxConcurrentRequestsPerInstance ?? '-'}` +
            (r.targetRps === null ? '' : `, instances for ${r.targetRps} rps: ${r.instances ?? '-'}`) +
            `\nwrote ${result.files.json} and ${result.files.svg}\n`,
        );
      } finally {
        await workspace.close();
      }
    });
}
