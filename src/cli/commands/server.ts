import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import { findServer, startServer } from '../../sdk/control-plane-process.js';
import { runServer } from '../../server/run.js';
import { stopWorkspaceServer } from '../../server/stop.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';
import { openEndpoints } from './endpoint-shared.js';

interface BindOptions {
  host?: string;
  port?: number;
  gatewayPort?: number;
  token?: string;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new BerthError('BAD_INPUT', `invalid port ${value}`);
  return parsed;
}

function seconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0)
    throw new BerthError('BAD_INPUT', `invalid --timeout ${value}`);
  return parsed;
}

function bindOptions(command: Command): Command {
  return command
    .option(
      '--host <host>',
      'interface of the API and the gateway (default 127.0.0.1; elsewhere needs --token)',
    )
    .option('--port <port>', 'API port (default: a free one)', port)
    .option('--gateway-port <port>', 'gateway port (default: the previous one, else a free one)', port)
    .option('--token <token>', 'API bearer token (default: random; also $BERTH_SERVER_TOKEN)');
}

async function workspaceDirOf(context: CliContext): Promise<string> {
  const workspace = await context.openWorkspace();
  const dir = workspace.dir;
  await workspace.close();
  return dir;
}

export function registerServerCommands(program: Command, context: CliContext): void {
  const server = program
    .command('server')
    .description("the workspace's control plane: REST API, endpoint gateway and deployment supervisor");

  bindOptions(server.command('start'))
    .description('start the control plane in the background (the CLI also does on first need)')
    .option('--json', 'print the server record as JSON (without the token)')
    .action(async (options: BindOptions & { json?: boolean }) => {
      const dir = await workspaceDirOf(context);
      const { server: file, started } = await startServer(dir, {
        ...options,
        token: options.token ?? (process.env.BERTH_SERVER_TOKEN || undefined),
      });
      const { token: _token, ...visible } = file;
      if (options.json) printJson(context.io, { ...visible, started });
      else
        context.io.stdout.write(
          `${started ? 'started' : 'already running'}: ${file.url} (pid ${file.pid}, gateway ${file.gatewayUrl})\n`,
        );
    });

  server
    .command('stop')
    .description(
      'stop the control plane: replicas stop, endpoints and deployments stay recorded (found by its lock and pid; SIGKILL past --timeout)',
    )
    .option('--timeout <seconds>', 'how long it may take to stop before it is killed (default 30)', seconds)
    .action(async (options: { timeout?: number }) => {
      const stopped = await stopWorkspaceServer(
        await workspaceDirOf(context),
        (options.timeout ?? 30) * 1000,
      );
      if (stopped === undefined) context.io.stdout.write('not running\n');
      else if (stopped.how === 'killed')
        context.io.stdout.write(
          `stopped: pid ${stopped.pid} did not stop within ${options.timeout ?? 30} s and was killed\n`,
        );
      else context.io.stdout.write('stopped\n');
    });

  server
    .command('status')
    .description('whether the control plane runs, where, and what it serves (exit 5 when it does not run)')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      const dir = await workspaceDirOf(context);
      if ((await findServer(dir)) === undefined) {
        if (options.json) printJson(context.io, { running: false });
        throw new BerthError('NOT_READY', `no berth server runs on ${dir}`);
      }
      const endpoints = await openEndpoints(context);
      const status = await endpoints.serverStatus();
      if (options.json) {
        printJson(context.io, { running: true, ...status });
        return;
      }
      context.io.stdout.write(
        `running: ${status.url} (pid ${status.pid}, since ${status.startedAt})\n` +
          `gateway: ${status.gatewayUrl}\n` +
          `serving: ${status.endpoints} endpoint(s), ${status.deployments} deployment(s)\n`,
      );
    });

  bindOptions(server.command('run'))
    .description('run the control plane in the foreground until interrupted')
    .action(async (options: BindOptions) => {
      const running = await runServer(
        {
          workspaceDir: await workspaceDirOf(context),
          host: options.host,
          port: options.port,
          gatewayPort: options.gatewayPort,
          token: options.token ?? (process.env.BERTH_SERVER_TOKEN || undefined),
        },
        (message) => context.io.stderr.write(`berth: ${message}\n`),
      );
      const stop = () => void running.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      context.io.stdout.write(`serving ${running.url} (gateway ${running.gatewayUrl}); Ctrl-C stops\n`);
      await running.stopped;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
}
