/**
 * The control plane as a process: `node dist/src/server/main.js --workspace <dir> [--host h]
 * [--port p] [--gateway-port p] [--token t]` (the token may come from $BERTH_SERVER_TOKEN). Once
 * it serves it prints one line `{"event":"listening","url":…,"gatewayUrl":…,"pid":…}`; on SIGTERM
 * or SIGINT it stops the replicas and exits 0. `berth server start` runs it detached.
 */
import { parseArgs } from 'node:util';
import { BerthError, toBerthError } from '../core/errors.js';
import { runServer } from './run.js';

function numberOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed))
    throw new BerthError('BAD_INPUT', `${flag} must be a port number, not ${value}`);
  return parsed;
}

function line(event: object): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workspace: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'gateway-port': { type: 'string' },
      token: { type: 'string' },
    },
  });
  if (values.workspace === undefined) throw new BerthError('BAD_INPUT', 'usage: main.js --workspace <dir>');
  const token = values.token ?? (process.env.BERTH_SERVER_TOKEN || undefined);
  const server = await runServer(
    {
      workspaceDir: values.workspace,
      host: values.host,
      port: numberOption(values.port, '--port'),
      gatewayPort: numberOption(values['gateway-port'], '--gateway-port'),
      token,
    },
    (message) => line({ event: 'log', message }),
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void server.stop());
  }
  line({ event: 'listening', url: server.url, gatewayUrl: server.gatewayUrl, pid: process.pid });
  await server.restored;
  line({ event: 'restored' });
  await server.stopped;
  line({ event: 'stopped' });
  // Everything is closed; a handle some library forgot must not keep a stopped server alive.
  setTimeout(() => process.exit(), 2000).unref();
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const berth = toBerthError(error);
  process.stderr.write(`${JSON.stringify({ event: 'failed', code: berth.code, message: berth.message })}\n`);
  process.exitCode = berth.exitCode;
});
