import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { Workspace } from '../sdk/workspace.js';
import type { CliContext } from './context.js';
import type { CliIo } from './output.js';
import { runProgram } from './run-program.js';
import { registerInitCommand } from './commands/init.js';
import { registerModelCommands } from './commands/model.js';
import { registerServeCommand } from './commands/serve.js';
import { registerBatchCommands } from './commands/batch.js';
import { registerJobCommands } from './commands/job.js';
import { registerEndpointCommands } from './commands/endpoint.js';
import { registerDeploymentCommands } from './commands/deployment.js';
import { registerTargetCommands } from './commands/target.js';
import { registerServerCommands } from './commands/server.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerPackageCommand } from './commands/package.js';
import { registerProfileCommand } from './commands/profile.js';
import { registerEdgeCommands } from './commands/edge.js';

function packageVersion(): string {
  const packageJson = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('berth');
  let workspaceDir: string | undefined;
  const context: CliContext = {
    io,
    workspaceDir: () => workspaceDir,
    openWorkspace: () => Workspace.open({ dir: workspaceDir }),
  };
  program
    .description(
      'Deploy trained models to compute targets: register a model once, serve it anywhere.\n' +
        'Workspace: --workspace, else $BERTH_WORKSPACE, else ./.berth',
    )
    .version(packageVersion(), '-V, --version')
    .option('-w, --workspace <dir>', 'workspace folder (default: $BERTH_WORKSPACE or ./.berth)')
    .hook('preAction', (command) => {
      workspaceDir = command.opts<{ workspace?: string }>().workspace;
    })
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  registerInitCommand(program, context);
  registerModelCommands(program, context);
  registerServeCommand(program, context);
  registerProfileCommand(program, context);
  registerEndpointCommands(program, context);
  registerDeploymentCommands(program, context);
  registerTargetCommands(program, context);
  registerServerCommands(program, context);
  registerBatchCommands(program, context);
  registerJobCommands(program, context);
  registerWorkerCommand(program, context);
  registerPackageCommand(program, context);
  registerEdgeCommands(program, context);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 failure, 2 bad input, 3 not found, 4 unauthorized, 5 busy or timed out,\n' +
      '6 conflict or in use, 7 corrupt artifact, 8 not implemented.\n' +
      'Every command that prints accepts --json for scripts (shapes in docs/cli-json.md).',
  );
  return program;
}

/** Runs the CLI and returns its exit code; errors become one line on stderr. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  return runProgram(buildProgram(io), argv, io);
}
