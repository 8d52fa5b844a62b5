/**
 * `berth package MODEL[:VERSION]`: the model (with optional scoring code) as a container — either
 * a Docker build context written to a folder (`--output`, Dockerfile included) or an image built
 * on a Docker Engine and tagged (`--image`). Same layers, same checks as the container target.
 * With `--function KIND` it is a function package instead (fetch, aws-lambda, azure-functions:
 * src/targets/function), written to `--output` (a folder, or a zip for aws-lambda).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import type { DeploymentSpec } from '../../core/specs/index.js';
import { resolveDeployment } from '../../targets/resolve-deployment.js';
import {
  packageImage,
  resolveContainerTargetConfig,
  writeBuildContext,
} from '../../targets/container/index.js';
import type { ResolvedContainerTargetConfig } from '../../targets/container/index.js';
import { functionKinds, isFunctionKind, writeFunctionPackage } from '../../targets/function/index.js';
import type { Workspace } from '../../sdk/workspace.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

interface PackageOptions {
  code?: string;
  scoringScript?: string;
  output?: string;
  image?: string;
  target?: string;
  baseImage?: string;
  dockerHost?: string;
  function?: string;
  json?: boolean;
}

async function containerConfig(
  workspace: Workspace,
  options: PackageOptions,
): Promise<ResolvedContainerTargetConfig> {
  const named = options.target === undefined ? undefined : await workspace.targets.get(options.target);
  if (named !== undefined && named.kind !== 'container') {
    throw new BerthError(
      'BAD_INPUT',
      `--target ${named.name} is a ${named.kind} target, not a container target`,
    );
  }
  const given = Object.fromEntries(
    Object.entries({ baseImage: options.baseImage, dockerHost: options.dockerHost }).filter(
      ([, value]) => value !== undefined,
    ),
  );
  return resolveContainerTargetConfig({
    cacheDir: resolve(workspace.dir, 'cache', 'container'),
    ...named?.config,
    ...given,
    kind: 'container',
    name: named?.name ?? 'container',
  });
}

/**
 * The deployment a package holds, built as a typed spec rather than parsed from an object: a field
 * the YAML schema requires (as `instance_count` is) is then a compile error here, not a failure of
 * every `berth package` at run time. How many containers run the image is up to whoever runs it,
 * so the count is one; nothing of it goes into the image.
 */
function packageSpec(model: string, options: PackageOptions): DeploymentSpec {
  const reference = model.replace(/^azureml:/, '');
  return {
    name: 'package',
    endpoint_name: reference.split(':')[0] ?? reference,
    model: reference,
    instance_count: 1,
    code_configuration:
      options.code === undefined || options.scoringScript === undefined
        ? undefined
        : { code: resolve(options.code), scoring_script: options.scoringScript },
  };
}

async function packageFunction(context: CliContext, model: string, options: PackageOptions): Promise<void> {
  const kind = options.function ?? '';
  if (!isFunctionKind(kind))
    throw new BerthError('BAD_INPUT', `--function must be one of ${functionKinds.join(', ')}, not ${kind}`);
  if (options.output === undefined || options.image !== undefined)
    throw new BerthError(
      'BAD_INPUT',
      '--function writes a package: give --output <dir> (or <file>.zip), not --image',
    );
  if (options.target !== undefined || options.baseImage !== undefined || options.dockerHost !== undefined)
    throw new BerthError(
      'BAD_INPUT',
      '--target, --base-image and --docker-host are for images, not --function',
    );
  if ((options.code === undefined) !== (options.scoringScript === undefined))
    throw new BerthError('BAD_INPUT', '--code and --scoring-script go together');
  if (options.output.endsWith('.zip') && kind !== 'aws-lambda')
    throw new BerthError('BAD_INPUT', `a ${kind} package is a folder: only aws-lambda is written as a .zip`);
  const workspace = await context.openWorkspace();
  try {
    const { resolved } = await resolveDeployment(packageSpec(model, options), workspace, 'function', {
      baseDir: process.cwd(),
      kind: 'function',
    });
    const result = await writeFunctionPackage(
      resolved,
      kind,
      resolve(workspace.dir, 'cache', 'function'),
      options.output,
    );
    for (const warning of result.warnings) context.io.stderr.write(`warning: ${warning}\n`);
    if (options.json) printJson(context.io, result);
    else
      context.io.stdout.write(
        `${kind} function package written to ${result.output} (entry ${result.entry})\n`,
      );
  } finally {
    await workspace.close();
  }
}

export function registerPackageCommand(program: Command, context: CliContext): void {
  program
    .command('package')
    .description(
      'package a model (and its scoring code) as a Docker build context, a built image or a function package',
    )
    .argument('<model>', 'NAME[:VERSION] of a registered model')
    .option('--code <dir>', 'folder of the scoring code')
    .option('--scoring-script <file>', 'the scoring script, relative to --code')
    .option('--output <dir>', 'write the build context (Dockerfile included) to this folder')
    .option('--image <tag>', 'build the image on the Docker Engine and tag it, e.g. ocr-cls:1')
    .option('--target <name>', 'take the Docker Engine and base image from a named container target')
    .option('--base-image <image>', 'the image the scoring server runs on (default node:20-bookworm-slim)')
    .option(
      '--docker-host <url>',
      'the Docker Engine for --image (default $DOCKER_HOST, else the local socket)',
    )
    .option(
      '--function <kind>',
      `a function package instead of an image: ${functionKinds.join(', ')} (--output a folder, or a .zip for aws-lambda)`,
    )
    .option('--json', 'print the result as JSON')
    .action(async (model: string, options: PackageOptions) => {
      if (options.function !== undefined) {
        await packageFunction(context, model, options);
        return;
      }
      if ((options.output === undefined) === (options.image === undefined)) {
        throw new BerthError('BAD_INPUT', 'give exactly one of --output <dir> or --image <tag>');
      }
      if ((options.code === undefined) !== (options.scoringScript === undefined)) {
        throw new BerthError('BAD_INPUT', '--code and --scoring-script go together');
      }
      const workspace = await context.openWorkspace();
      try {
        const spec = packageSpec(model, options);
        const { resolved } = await resolveDeployment(spec, workspace, 'container', {
          baseDir: process.cwd(),
          kind: 'container',
        });
        const config = await containerConfig(workspace, options);
        const progress = (message: string): void => {
          if (!options.json) context.io.stderr.write(`${message}\n`);
        };
        const result =
          options.output !== undefined
            ? await writeBuildContext(resolved, config, options.output)
            : await packageImage(resolved, config, options.image!, progress);
        for (const warning of result.warnings) context.io.stderr.write(`warning: ${warning}\n`);
        if (options.json) printJson(context.io, result);
        else if (options.output !== undefined)
          context.io.stdout.write(
            `build context written to ${result.output} (docker build ${result.output})\n`,
          );
        else context.io.stdout.write(`image ${result.output} built (berth.key ${result.key.slice(0, 16)})\n`);
      } finally {
        await workspace.close();
      }
    });
}
