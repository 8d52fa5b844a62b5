/**
 * The small program berth runs on the machine in front of each replica (shipped to the workdir
 * like any artifact, run by the remote Node.js). It reads one JSON line on stdin (the server's
 * command, options, folder and environment, the replica token among them: secrets never go in an argument),
 * starts the scoring server with its output on this session's, and ties the two lifetimes: when
 * the server exits, so does the session; when the session's stdin ends (berth stops the replica, or
 * the connection is gone) it stops the server with SIGTERM, then SIGKILL after the grace period.
 * So no replica outlives its session: nothing is left running on the machine.
 */
export const supervisorFile = 'supervisor.mjs';

export const supervisorSource = `// berth: runs one scoring-server replica for the session that started it.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

const lines = createInterface({ input: process.stdin });
let child;
let graceMs = 5000;
let ending = false;
function stop() {
  if (ending) return;
  ending = true;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) process.exit(0);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
}
lines.once('line', (line) => {
  const hello = JSON.parse(line);
  graceMs = hello.graceMs;
  mkdirSync(dirname(hello.configPath), { recursive: true });
  writeFileSync(hello.configPath, JSON.stringify(hello.options));
  child = spawn(hello.node, [hello.entry, '--config', hello.configPath], {
    cwd: hello.cwd,
    env: { ...process.env, ...hello.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('error', (error) => {
    const message = 'cannot start the scoring server on the machine: ' + error.message;
    process.stderr.write(JSON.stringify({ event: 'failed', code: 'RUN_FAILED', message }) + '\\n');
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGKILL' ? 137 : 143)));
});
lines.on('close', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);
`;

/** What the supervisor reads on its stdin, as one JSON line. */
export interface SupervisorHello {
  node: string;
  /** The scoring server's main.js, run with `--config <configPath>`. */
  entry: string;
  /** Where the supervisor writes `options` (the scoring options) before it starts the server. */
  configPath: string;
  options: unknown;
  cwd: string;
  env: Record<string, string>;
  graceMs: number;
}
