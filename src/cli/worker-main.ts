/**
 * `berth worker` alone: the program inside the batch worker image that a Kubernetes target builds
 * (targets/kubernetes/worker-image.ts bundles this file with esbuild, as the container target
 * bundles the scoring server). It is the CLI's own worker command, so a worker pod takes the same
 * flags and prints the same lines as `berth worker` anywhere; the rest of the CLI (and the
 * workspace with its SQLite) stays out of the image. Run as `node main.js worker --cluster … `.
 */
import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../core/errors.js';
import { registerWorkerCommand } from './commands/worker.js';
import { runProgram } from './run-program.js';

/** The version of the package.json nearest above this file: the bundle's own, or berth's in dist/. */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '';
    if (dirname(dir) === dir) return '';
  }
}

const io = { stdout: process.stdout, stderr: process.stderr };
const program = new Command('berth')
  .description('berth batch worker: the worker command alone')
  .version(version(), '-V, --version')
  .configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  })
  .exitOverride();
registerWorkerCommand(program, {
  io,
  workspaceDir: () => undefined,
  openWorkspace: () =>
    Promise.reject(
      new BerthError(
        'BAD_INPUT',
        'this worker image has no workspace: join a queue with --cluster redis://host:port and --queue-prefix',
      ),
    ),
});
for (const command of program.commands) command.exitOverride();
process.exitCode = await runProgram(program, process.argv, io);
