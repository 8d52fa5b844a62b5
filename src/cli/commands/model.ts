import type { Command } from 'commander';
import type { ModelProfile } from '../../core/model-profile.js';
import { BerthError } from '../../core/errors.js';
import type { ModelVersion } from '../../core/model.js';
import type { CliContext } from '../context.js';
import { describeReading } from '../../registry/index.js';
import { createProgressBar } from '../progress-bar.js';
import { describeModel, formatBytes, formatTags, printJson, printTable } from '../output.js';

function collectTag(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new BerthError('BAD_INPUT', `invalid --tag ${JSON.stringify(value)}: use key=value`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** The stable JSON shape of a model version (documented in docs/cli-json.md). */
export function modelJson(model: ModelVersion): ModelVersion {
  return {
    name: model.name,
    version: model.version,
    framework: model.framework,
    description: model.description,
    tags: model.tags,
    artifact: model.artifact,
    modelFile: model.modelFile,
    signature: model.signature,
    createdAt: model.createdAt,
  };
}

/** The saved `berth profile` result in one line, or a hint to make one. */
function describeProfile(profile: ModelProfile | undefined): string {
  if (profile === undefined) return '  profile:     none (berth profile MODEL measures one)\n';
  const memory = profile.recommendation.memoryBytes;
  return (
    `  profile:     ${profile.measuredAt} on ${profile.target} (${profile.machineCores} cores): ` +
    `max ${profile.maxSustainedRps ?? 'no'} rps within the SLO, peak memory ${profile.peakRssBytes === null ? 'unmeasured' : formatBytes(profile.peakRssBytes)}, ` +
    `memory ${memory === null ? 'unmeasured' : formatBytes(memory)}, cpu ${profile.recommendation.cpu ?? 'unmeasured'}` +
    (profile.recommendation.maxBatchSize === null
      ? ''
      : `, max_batch_size ${profile.recommendation.maxBatchSize}`) +
    '\n'
  );
}

export function registerModelCommands(program: Command, context: CliContext): void {
  const model = program.command('model').description('register, list, show, download and delete models');

  model
    .command('register')
    .description('register a model file or folder as the next version of NAME')
    .requiredOption('-n, --name <name>', 'model name: 1-63 letters, digits, "-" or "_"')
    .requiredOption(
      '-p, --path <path>',
      'a model file, or a folder (its tree is kept); with --from-job, relative to the job (outputs/model.onnx)',
    )
    .option('--from-job <id>', 'register a file or folder a completed job kept (tagged job=ID)')
    .option(
      '-f, --framework <framework>',
      'onnx, sklearn, pytorch (TorchScript, or a state dict and its code), python or custom (default: onnx for .onnx files and folders holding one, else custom)',
    )
    .option(
      '--model-file <file>',
      'for a folder with several .onnx files: the one to serve, relative to the folder',
    )
    .option('-d, --description <text>', 'free text', '')
    .option('-t, --tag <key=value>', 'a tag; repeat for several', collectTag, {})
    .option('--json', 'print the registered version as JSON')
    .action(
      async (options: {
        name: string;
        path: string;
        fromJob?: string;
        framework?: string;
        modelFile?: string;
        description: string;
        tag: Record<string, string>;
        json?: boolean;
      }) => {
        const workspace = await context.openWorkspace();
        const bar = createProgressBar(context.io, 'registering');
        try {
          const fromJob = options.fromJob;
          const registered = await workspace.models.register({
            name: options.name,
            path:
              fromJob === undefined ? options.path : await workspace.jobs.outputPath(fromJob, options.path),
            framework: options.framework,
            modelFile: options.modelFile,
            description: options.description,
            tags: fromJob === undefined ? options.tag : { job: fromJob, ...options.tag },
            onProgress: bar,
          });
          bar?.finish();
          if (options.json) printJson(context.io, modelJson(registered));
          else
            context.io.stdout.write(
              `registered ${registered.name}:${registered.version} (${registered.framework}, ${formatBytes(registered.artifact.size)}, sha256 ${registered.artifact.sha256.slice(0, 12)})\n`,
            );
        } finally {
          await workspace.close();
        }
      },
    );

  model
    .command('list')
    .description('list registered model versions')
    .option('-n, --name <name>', 'only the versions of this model')
    .option('--json', 'print a JSON array of model versions')
    .action(async (options: { name?: string; json?: boolean }) => {
      const workspace = await context.openWorkspace();
      try {
        const models = await workspace.models.list({ name: options.name });
        if (options.json) {
          printJson(context.io, models.map(modelJson));
          return;
        }
        if (models.length === 0) {
          context.io.stdout.write('no models registered (see `berth model register --help`)\n');
          return;
        }
        printTable(
          context.io,
          ['NAME', 'VERSION', 'FRAMEWORK', 'SIZE', 'CREATED', 'TAGS', 'DESCRIPTION'],
          models.map((m) => [
            m.name,
            String(m.version),
            m.framework,
            formatBytes(m.artifact.size),
            m.createdAt.slice(0, 19).replace('T', ' '),
            formatTags(m.tags),
            m.description,
          ]),
        );
      } finally {
        await workspace.close();
      }
    });

  model
    .command('show')
    .description('show a model version: signature (inputs, outputs, dtypes, shapes), opset, size, sha256')
    .argument('<model>', 'NAME (latest version) or NAME:VERSION')
    .option('--json', 'print the model version as JSON')
    .action(async (reference: string, options: { json?: boolean }) => {
      const workspace = await context.openWorkspace();
      try {
        const found = await workspace.models.get(reference);
        const profile = await workspace.models.profile(`${found.name}:${found.version}`);
        if (options.json) printJson(context.io, { ...modelJson(found), profile: profile ?? null });
        else {
          const reading = await workspace.models.inspect(reference);
          const extra = reading === undefined ? '' : `${describeReading(reading).join('\n')}\n`;
          context.io.stdout.write(describeModel(found) + extra + describeProfile(profile));
        }
      } finally {
        await workspace.close();
      }
    });

  model
    .command('download')
    .description("copy a model version's files into DESTINATION, verifying every byte")
    .argument('<model>', 'NAME (latest version) or NAME:VERSION')
    .argument('<destination>', 'folder to write into (created when missing)')
    .option('--json', 'print {"path": ...} instead of text')
    .action(async (reference: string, destination: string, options: { json?: boolean }) => {
      const workspace = await context.openWorkspace();
      const bar = createProgressBar(context.io, 'downloading');
      try {
        const path = await workspace.models.download(reference, destination, bar);
        bar?.finish();
        if (options.json) printJson(context.io, { path });
        else context.io.stdout.write(`downloaded to ${path}\n`);
      } finally {
        await workspace.close();
      }
    });

  model
    .command('delete')
    .description('delete a model version; refused while a deployment uses it')
    .argument('<model>', 'NAME:VERSION (the version must be named)')
    .option('--json', 'print the deleted version as JSON')
    .action(async (reference: string, options: { json?: boolean }) => {
      const workspace = await context.openWorkspace();
      try {
        const deleted = await workspace.models.delete(reference);
        if (options.json) printJson(context.io, modelJson(deleted));
        else context.io.stdout.write(`deleted ${deleted.name}:${deleted.version}\n`);
      } finally {
        await workspace.close();
      }
    });
}
