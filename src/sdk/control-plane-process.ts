/**
 * Finding, starting and stopping the workspace's control plane. The SDK and the CLI start it on
 * first need: a detached `node dist/src/server/main.js` whose output goes to
 * `<workspace>/server.log`, found again through `<workspace>/server.json` (URL, pid, token). A
 * recorded server that does not answer its health check is treated as gone.
 */
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, isErrorCode } from '../core/errors.js';
import { readServerFile, type ServerFile } from '../workspace/server-file.js';

/** dist/src/sdk/control-plane-process.js → dist/src/server/main.js */
const serverEntry = fileURLToPath(new URL('../server/main.js', import.meta.url));

export const serverLogName = 'server.log';

export interface StartServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default: the previous gateway port, else a free one. */
  gatewayPort?: number;
  /** Required off loopback. Default: a random token. */
  token?: string;
  /** How long to wait for the server to answer. Default 30000 ms. */
  timeoutMs?: number;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function healthy(file: ServerFile): Promise<boolean> {
  try {
    const response = await fetch(`${file.url}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { pid?: unknown };
    return response.ok && body.pid === file.pid;
  } catch {
    return false;
  }
}

/** The running server of the workspace, or undefined. */
export async function findServer(workspaceDir: string): Promise<ServerFile | undefined> {
  const file = await readServerFile(workspaceDir);
  if (file === undefined || !isAlive(file.pid)) return undefined;
  return (await healthy(file)) ? file : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The last `{"event":"failed"}` line the server wrote, as an error. */
async function failureFromLog(logPath: string, exitCode: number | null): Promise<BerthError> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  for (const line of text.trim().split('\n').reverse()) {
    try {
      const event = JSON.parse(line) as { event?: unknown; code?: unknown; message?: unknown };
      if (event.event === 'failed' && isErrorCode(event.code) && typeof event.message === 'string') {
        return new BerthError(event.code, `the control plane did not start: ${event.message}`);
      }
    } catch {
      // not a JSON line: keep looking
    }
  }
  return new BerthError(
    'INTERNAL',
    `the control plane exited (code ${exitCode}) before it served: see ${logPath}`,
  );
}

/** Starts the workspace's server unless one runs; resolves with it and whether this call started it. */
export async function startServer(
  workspaceDir: string,
  options: StartServerOptions = {},
): Promise<{ server: ServerFile; started: boolean }> {
  const running = await findServer(workspaceDir);
  if (running !== undefined) return { server: running, started: false };
  const args = [serverEntry, '--workspace', workspaceDir];
  if (options.host !== undefined) args.push('--host', options.host);
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.gatewayPort !== undefined) args.push('--gateway-port', String(options.gatewayPort));
  const logPath = join(workspaceDir, serverLogName);
  const log = await open(logPath, 'a');
  let exited: { code: number | null } | undefined;
  try {
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      // The token travels in the environment, not on a command line other users can read.
      env: options.token === undefined ? process.env : { ...process.env, BERTH_SERVER_TOKEN: options.token },
    });
    child.on('exit', (code) => (exited = { code }));
    child.unref();
  } finally {
    await log.close();
  }
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    const server = await findServer(workspaceDir);
    if (server !== undefined) return { server, started: true };
    if (exited !== undefined) {
      // Another process may have started one first (we lost the lock): use theirs.
      const other = await findServer(workspaceDir);
      if (other !== undefined) return { server: other, started: false };
      throw await failureFromLog(logPath, exited.code);
    }
    await sleep(100);
  }
  throw new BerthError(
    'UPSTREAM_TIMEOUT',
    `the control plane did not answer within ${options.timeoutMs ?? 30_000} ms: see ${logPath}`,
  );
}

/** Stops the workspace's server (replicas stopped, state kept); false when none ran. */
export async function stopServer(workspaceDir: string, timeoutMs = 30_000): Promise<boolean> {
  // Only a server that answered its health check with its pid is signalled: a stale file's pid
  // may belong to another process by now.
  const file = await findServer(workspaceDir);
  if (file === undefined) return false;
  const asked = await fetch(`${file.url}/api/shutdown`, {
    method: 'POST',
    headers: { authorization: `Bearer ${file.token}` },
    signal: AbortSignal.timeout(5000),
  }).then(
    (response) => response.ok,
    () => false,
  );
  if (!asked) process.kill(file.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(file.pid)) {
    if (Date.now() > deadline) {
      process.kill(file.pid, 'SIGKILL');
      break;
    }
    await sleep(50);
  }
  return true;
}
