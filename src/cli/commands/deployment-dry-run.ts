/** `berth deployment create --dry-run --output DIR`: a Kubernetes target's manifests as files, nothing applied. */
import { BerthError } from '../../core/errors.js';
import { writeKubernetesManifests } from '../../sdk/kubernetes-manifests.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

export interface DryRunFlags {
  file: string;
  name?: string;
  endpointName?: string;
  set: string[];
  dryRun?: boolean;
  output?: string;
  json?: boolean;
}

export async function dryRunManifests(context: CliContext, options: DryRunFlags): Promise<void> {
  if (options.dryRun !== true || options.output === undefined) {
    throw new BerthError('BAD_INPUT', '--dry-run and --output DIR go together');
  }
  const workspace = await context.openWorkspace();
  try {
    const result = await writeKubernetesManifests(workspace, {
      file: options.file,
      name: options.name,
      endpointName: options.endpointName,
      set: options.set,
      output: options.output,
      progress: () => {},
    });
    for (const warning of result.warnings) context.io.stderr.write(`warning: ${warning}\n`);
    if (options.json === true) printJson(context.io, result);
    else
      context.io.stdout.write(
        `${result.files.length} manifests written, nothing applied:\n${result.files.join('\n')}\n`,
      );
  } finally {
    await workspace.close();
  }
}
