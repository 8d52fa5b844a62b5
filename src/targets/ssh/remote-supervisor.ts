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
 * (through `setpriv --pdeathsig` where the machine has it, so the server ends with its supervisor),
 * records `<supervisor pid> <server pid> <port>` in `<run>/<replica>.pid`, its output in
 * `<run>/<replica>.log` and `.err`, and exits with the
 * server, writing its code to `<run>/<replica>.exit` and removing the pid file.
 */
export const supervisorFile = 'supervisor.mjs';

export const supervisorSource = `// berth: runs one scoring-server replica on this machine, across SSH sessions.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const configPath = process.argv[2];
const base = configPath.replace(/\\.json$/, '');
const pidPath = base + '.pid';
const exitPath = base + '.exit';
const logPath = base + '.log';
const errPath = base + '.err';

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
    return { supervisor, server, port };
  } catch {
    return undefined;
  }
}
function say(event) {
  process.stdout.write(JSON.stringify(event) + '\\n');
}

function daemon() {
  process.on('SIGHUP', () => undefined);
  let child;
  let graceMs = 5000;
  let ending = false;
  let port = 0;
  const record = () => writeFileSync(pidPath, process.pid + ' ' + (child?.pid ?? 0) + ' ' + port + '\\n');
  const finish = (code) => {
    writeFileSync(exitPath, String(code));
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
    mkdirSync(dirname(configPath), { recursive: true });
    writeFileSync(configPath, JSON.stringify(hello.options));
    const args = [hello.entry, '--config', configPath];
    const setpriv = '/usr/bin/setpriv';
    const pdeath = existsSync(setpriv);
    child = spawn(pdeath ? setpriv : hello.node, pdeath ? ['--pdeathsig', 'SIGTERM', '--', hello.node, ...args] : args, {
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
    if (found !== undefined && alive(found.supervisor) && ours(found.supervisor)) {
      state = found;
      outLog.skip();
      errLog.skip();
    } else {
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
    }
    setInterval(watch, 200);
    lines.on('line', (line) => {
      if (line.trim() !== 'stop') return;
      stopping = true;
      stopOnce();
    });
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
  /** The scoring server's main.js, run with `--config <configPath>`. */
  entry: string;
  /** Where the supervisor writes `options` (the scoring options) before it starts the server. */
  configPath: string;
  options: unknown;
  cwd: string;
  env: Record<string, string>;
  graceMs: number;
}
