/**
 * The small program berth runs on the machine for each replica (shipped to the workdir like any
 * artifact, run by the remote Node.js). It has two modes.
 *
 * `supervisor.mjs <options file>` (attach, what each SSH session of the bridge runs): reads one JSON
 * line on stdin (the server's command, options, folder and environment, the replica token among
 * them: secrets never go in an argument). If the replica's pid file names a live supervisor, it is
 * adopted; otherwise any server left by a dead one is ended and a new supervisor is started,
 * detached from the session (its own session and process group, output to a log file in the run
 * folder). Attach relays that log and says `listening` on the server's port, and ends with the
 * server's exit code. A second line `stop` stops the supervisor (SIGTERM, SIGKILL past the grace);
 * stdin ending without it (the connection dropped) leaves the supervisor and its server running.
 *
 * `supervisor.mjs <options file> --daemon` (the supervisor): writes the options, starts the server
 * (through `setpriv --pdeathsig` where the machine has it, so the server ends with its supervisor;
 * inside `systemd-run --user --scope -p MemoryMax=… -p CPUQuota=…` when the hello asks for it),
 * records `<supervisor pid> <server pid> <port>` in `<run>/<replica>.pid`, its output in
 * `<run>/<replica>.log` and `.err`, and exits with the
 * server, writing its code to `<run>/<replica>.exit` and removing the pid file. It probes the
 * server's liveness itself (the deployment's liveness probe, on the machine's loopback) and ends a
 * server that fails it `failureThreshold` times in a row: a hung server is replaced even when
 * berth cannot reach the machine.
 */
export const supervisorFile = 'supervisor.mjs';

export const supervisorSource = `// berth: runs one scoring-server replica on this machine, across SSH sessions.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const configPath = process.argv[2];
const base = configPath.replace(/\\.json$/, '');
const pidPath = base + '.pid';
const exitPath = base + '.exit';
const logPath = base + '.log';
const errPath = base + '.err';
const helloPath = base + '.hello';
const fingerprint = (line) => createHash('sha256').update(line).digest('hex');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
/** A pid that is still one of this replica's processes (its command line names the options file). */
function ours(pid) {
  if (!(pid > 0)) return false;
  try {
    return readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes(configPath);
  } catch {
    return false;
  }
}
function readState() {
  try {
    const [supervisor, server, port] = readFileSync(pidPath, 'utf8').trim().split(' ').map(Number);
    // Written whole (writeWhole), but a file from an older supervisor may not be: no pid, no state.
    if (!(supervisor > 0) || !Number.isInteger(server) || !Number.isInteger(port)) return undefined;
    return { supervisor, server, port };
  } catch {
    return undefined;
  }
}
/** Writes a file whole or not at all: the attach side polls it, and must never read it half-written. */
function writeWhole(path, text) {
  writeFileSync(path + '.tmp', text);
  renameSync(path + '.tmp', path);
}
function say(event) {
  process.stdout.write(JSON.stringify(event) + '\\n');
}

/** One liveness probe of the server: undefined when it answered, else why not. */
function probe(port, timeoutMs) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode < 500 ? undefined : 'HTTP ' + res.statusCode);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('no answer within ' + timeoutMs + ' ms');
    });
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

function daemon() {
  process.on('SIGHUP', () => undefined);
  let child;
  let graceMs = 5000;
  let ending = false;
  let port = 0;
  const record = () => writeWhole(pidPath, process.pid + ' ' + (child?.pid ?? 0) + ' ' + port + '\\n');
  const finish = (code) => {
    writeWhole(exitPath, String(code));
    rmSync(pidPath, { force: true });
    process.exit(code);
  };
  const stop = () => {
    if (ending) return;
    ending = true;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) finish(0);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  };
  process.on('SIGTERM', stop);
  createInterface({ input: process.stdin }).once('line', (line) => {
    const hello = JSON.parse(line);
    graceMs = hello.graceMs;
    // What this supervisor runs, so a later attach adopts it only for the very same hello.
    writeFileSync(helloPath, fingerprint(line));
    mkdirSync(dirname(configPath), { recursive: true });
    writeFileSync(configPath, JSON.stringify(hello.options));
    const setpriv = '/usr/bin/setpriv';
    let command = [hello.node, ...(hello.nodeFlags || []), hello.entry, '--config', configPath];
    if (existsSync(setpriv)) command = [setpriv, '--pdeathsig', 'SIGTERM', '--', ...command];
    // Where the machine has a user systemd: the server in a scope of its own, held by cgroups.
    // systemd-run --scope execs the command, so the pid stays the server's.
    const scope = hello.scope;
    if (scope !== undefined) {
      const limits = [];
      if (scope.memoryMaxBytes !== undefined) limits.push('-p', 'MemoryMax=' + scope.memoryMaxBytes);
      if (scope.cpuQuotaPercent !== undefined) limits.push('-p', 'CPUQuota=' + scope.cpuQuotaPercent + '%');
      command = ['systemd-run', '--user', '--scope', '--quiet', ...limits, '--', ...command];
    }
    child = spawn(command[0], command.slice(1), {
      cwd: hello.cwd,
      env: { ...process.env, ...hello.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    record();
    child.on('error', (error) => {
      const message = 'cannot start the scoring server on the machine: ' + error.message;
      process.stderr.write(JSON.stringify({ event: 'failed', code: 'RUN_FAILED', message }) + '\\n');
      finish(127);
    });
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (text.startsWith('{"event":"listening"')) {
        port = JSON.parse(text).port;
        record();
      }
      process.stdout.write(text + '\\n');
    });
    child.on('exit', (code, signal) => finish(code ?? (signal === 'SIGKILL' ? 137 : 143)));
    // A server that hangs (alive, but answering nothing) is ended here, on the machine, whether or
    // not berth can reach it: the supervisor then exits like after a crash, and a new one starts.
    const liveness = hello.liveness;
    if (liveness === undefined) return;
    let failed = 0;
    const tick = async () => {
      if (ending || child.exitCode !== null || child.signalCode !== null) return;
      if (port > 0) {
        const failure = await probe(port, liveness.timeoutMs);
        if (failure === undefined) failed = 0;
        else if (++failed >= liveness.failureThreshold) {
          process.stderr.write('berth: the scoring server failed its liveness probe ' + failed + ' times (' + failure + '): ended, to be replaced\\n');
          child.kill('SIGKILL');
          return;
        }
      }
      setTimeout(tick, liveness.periodMs);
    };
    setTimeout(tick, liveness.initialDelayMs);
  });
}

function attach() {
  const lines = createInterface({ input: process.stdin });
  let state;
  let said = false;
  /** Copies what a log file gained since last time to one of this session's streams. */
  const follower = (path, out, skipListening) => {
    let offset = 0;
    const relay = () => {
      let fd;
      try {
        fd = openSync(path, 'r');
      } catch {
        return;
      }
      try {
        const size = statSync(path).size;
        if (size < offset) offset = 0;
        if (size <= offset) return;
        const buffer = Buffer.alloc(size - offset);
        readSync(fd, buffer, 0, buffer.length, offset);
        const end = buffer.lastIndexOf(10) + 1;
        offset += end;
        for (const line of buffer.subarray(0, end).toString('utf8').split('\\n')) {
          if (line === '' || (skipListening && line.startsWith('{"event":"listening"'))) continue;
          out.write(line + '\\n');
        }
      } finally {
        closeSync(fd);
      }
    };
    relay.skip = () => {
      try {
        offset = statSync(path).size;
      } catch {}
    };
    return relay;
  };
  const outLog = follower(logPath, process.stdout, true);
  const errLog = follower(errPath, process.stderr, false);
  const relay = () => {
    outLog();
    errLog();
  };
  let stopping = false;
  let stopped = false;
  // A stop asked before the new supervisor has written its pid file is sent once it has.
  const stopOnce = () => {
    const current = readState() ?? state;
    if (stopped || current === undefined || !ours(current.supervisor)) return;
    stopped = true;
    process.kill(current.supervisor, 'SIGTERM');
  };
  const watch = () => {
    relay();
    const now = readState();
    if (now !== undefined) state = now;
    if (stopping) stopOnce();
    if (!said && state !== undefined && state.port > 0) {
      said = true;
      say({ event: 'listening', port: state.port });
    }
    if (state !== undefined && alive(state.supervisor) && ours(state.supervisor)) return;
    if (state === undefined && !existsSync(exitPath)) return;
    // The supervisor is gone: its server must not outlive it.
    if (state !== undefined && ours(state.server)) process.kill(state.server, 'SIGKILL');
    let code = 137;
    try {
      code = Number(readFileSync(exitPath, 'utf8'));
    } catch {}
    rmSync(exitPath, { force: true });
    rmSync(pidPath, { force: true });
    relay();
    process.exit(code);
  };
  lines.once('line', (hello) => {
    const found = readState();
    const live = found !== undefined && alive(found.supervisor) && ours(found.supervisor);
    let same = false;
    try {
      same = readFileSync(helloPath, 'utf8').trim() === fingerprint(hello);
    } catch {}
    const follow = () => {
      setInterval(watch, 200);
      lines.on('line', (line) => {
        if (line.trim() !== 'stop') return;
        stopping = true;
        stopOnce();
      });
    };
    const start = () => {
      if (found !== undefined && ours(found.server)) process.kill(found.server, 'SIGKILL');
      rmSync(pidPath, { force: true });
      rmSync(exitPath, { force: true });
      mkdirSync(dirname(configPath), { recursive: true });
      const log = openSync(logPath, 'w');
      const err = openSync(errPath, 'w');
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), configPath, '--daemon'], {
        cwd: dirname(configPath),
        detached: true,
        stdio: ['pipe', log, err],
      });
      closeSync(log);
      closeSync(err);
      child.stdin.end(hello + '\\n');
      child.unref();
      follow();
    };
    if (live && same) {
      // The same replica of the same release (a reconnect, or a control plane that restarted).
      state = found;
      outLog.skip();
      errLog.skip();
      follow();
    } else if (live) {
      // Another release under this replica's name: it drains, then this one starts.
      process.kill(found.supervisor, 'SIGTERM');
      const deadline = Date.now() + (JSON.parse(hello).graceMs ?? 5000) + 5000;
      const wait = setInterval(() => {
        if (ours(found.supervisor) && alive(found.supervisor) && Date.now() < deadline) return;
        clearInterval(wait);
        if (ours(found.supervisor)) process.kill(found.supervisor, 'SIGKILL');
        start();
      }, 100);
    } else start();
  });
  // stdin ended without "stop": the connection is gone; the supervisor keeps serving.
  lines.on('close', () => process.exit(0));
}

if (process.argv[3] === '--daemon') daemon();
else attach();
`;

/** What the supervisor reads on its stdin, as one JSON line. */
export interface SupervisorHello {
  node: string;
  /** Node options placed before the entry (core/heap-headroom.ts). */
  nodeFlags?: string[];
  /** The scoring server's main.js, run with `--config <configPath>`. */
  entry: string;
  /** Where the supervisor writes `options` (the scoring options) before it starts the server. */
  configPath: string;
  options: unknown;
  cwd: string;
  env: Record<string, string>;
  graceMs: number;
  /** The liveness probe the supervisor runs itself on the machine (GET / on the server's port). */
  liveness?: { initialDelayMs: number; periodMs: number; timeoutMs: number; failureThreshold: number };
  /** Limits of the server's `systemd-run --user --scope`, where the machine has one. */
  scope?: { memoryMaxBytes?: number; cpuQuotaPercent?: number } | undefined;
}
