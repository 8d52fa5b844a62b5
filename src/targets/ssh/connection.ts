/**
 * One SSH connection to the target's machine, through the system OpenSSH client: a master
 * connection (ControlMaster) that commands, uploads and port forwards share, so authentication
 * happens once. Host keys are checked against the target's known_hosts only
 * (StrictHostKeyChecking=yes: an unknown or changed key is refused, never accepted silently);
 * BatchMode=yes means no prompt, so no password is ever asked for or stored. Nothing secret is put
 * in an argument: secrets travel on a session's stdin.
 *
 * States: closed → open (open()) → closed (close()). The adapter owns it and closes it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, hasErrorCode } from '../../core/errors.js';
import type { ResolvedSshTargetConfig } from './config.js';
import { freeLoopbackPort } from '../../core/free-port.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How many times reopen() tries again after the first failure (about 10 s of back-off in all). */
const reopenAttempts = 5;

/** Single-quotes a word for the remote POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export class SshConnection {
  private master: ChildProcess | undefined;
  private masterError = '';
  private controlDir: string | undefined;
  private opening: Promise<void> | undefined;

  constructor(private readonly config: ResolvedSshTargetConfig) {}

  /** Where the target is, for messages: user@host:port (no secret in it). */
  get where(): string {
    const { user, host, port } = this.config;
    return `${user === undefined ? '' : `${user}@`}${host}:${port}`;
  }

  /** The client options every invocation shares, without the destination. */
  clientArgs(control: 'master' | 'shared' | 'none' = 'shared'): string[] {
    const { config } = this;
    const args = [
      '-p',
      String(config.port),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${config.knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'HashKnownHosts=no',
      '-o',
      `ConnectTimeout=${Math.max(1, Math.ceil(config.connectTimeoutMs / 1000))}`,
      '-o',
      'ServerAliveInterval=5',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ExitOnForwardFailure=yes',
    ];
    if (config.identity !== undefined) args.push('-i', config.identity, '-o', 'IdentitiesOnly=yes');
    if (config.user !== undefined) args.push('-l', config.user);
    if (control === 'none' || this.controlDir === undefined) args.push('-o', 'ControlPath=none');
    else {
      args.push('-o', `ControlPath=${join(this.controlDir, 'c')}`);
      if (control === 'master') args.push('-o', 'ControlMaster=yes', '-o', 'ControlPersist=no');
    }
    return args;
  }

  /** The whole command line for a remote command (the command itself is the last argument). */
  commandArgs(command: string, control: 'shared' | 'none' = 'shared'): string[] {
    return [...this.clientArgs(control), '-T', '--', this.config.host, command];
  }

  /** Opens the master connection (once); rejects with why it could not (host key, auth, network). */
  open(): Promise<void> {
    this.opening ??= this.connect().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  private async connect(): Promise<void> {
    // A short folder: a unix socket path is limited to about 100 bytes.
    this.controlDir = mkdtempSync(join(tmpdir(), 'berth-ssh-'));
    this.masterError = '';
    const master = spawn('ssh', [...this.clientArgs('master'), '-N', '--', this.config.host], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.master = master;
    master.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.masterError = (this.masterError + chunk).slice(-4000);
    });
    let exited = false;
    master.on('close', () => {
      exited = true;
      // A master that dropped once open (network, sshd restarted): the next command opens another.
      if (this.master === master && !opening) this.forget();
    });
    let opening = true;
    master.on('error', (error) => (this.masterError += error.message));
    const deadline = Date.now() + this.config.connectTimeoutMs + 2000;
    for (;;) {
      if (exited) {
        this.forget();
        throw this.connectError(this.masterError);
      }
      const check = await this.control('check');
      if (check.code === 0) {
        opening = false;
        return;
      }
      if (Date.now() > deadline) {
        await this.close();
        throw new BerthError(
          'NOT_READY',
          `cannot reach ${this.where} within ${this.config.connectTimeoutMs} ms`,
        );
      }
      await sleep(50);
    }
  }

  /** Turns the client's stderr into a BerthError that says what to do. */
  private connectError(stderr: string): BerthError {
    const text = stderr.trim();
    if (
      /host key verification failed|remote host identification has changed|no .* host key is known/i.test(
        text,
      )
    ) {
      return new BerthError(
        'UNAUTHORIZED',
        `the host key of ${this.where} is not the one in ${this.config.knownHosts} (or none is recorded there): ` +
          'check its fingerprint with the machine owner, then add it to that file (ssh-keyscan -p PORT HOST, compared by hand)',
      );
    }
    if (/permission denied/i.test(text)) {
      return new BerthError(
        'UNAUTHORIZED',
        `${this.where} refused the key: add the public key of ${this.config.identity ?? 'your ssh agent or default key'} to the remote authorized_keys`,
      );
    }
    return new BerthError(
      'NOT_READY',
      `cannot connect to ${this.where}: ${text || 'ssh ended with no message'}`,
    );
  }

  private control(operation: string, extra: string[] = []): Promise<CommandResult> {
    return collect(spawn('ssh', [...this.clientArgs(), '-O', operation, ...extra, '--', this.config.host]));
  }

  /**
   * Opens the master connection, retrying with a bounded back-off while the machine is unreachable
   * (a dropped connection, sshd restarting); a refused host key or key is not retried.
   */
  async reopen(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.open();
        return;
      } catch (error) {
        if (attempt >= reopenAttempts || !hasErrorCode(error, 'NOT_READY')) throw error;
        await sleep(Math.min(4000, 250 * 2 ** attempt));
      }
    }
  }

  /** Runs a command on the machine through the shared connection; `input` goes to its stdin. */
  async exec(command: string, input?: string | Buffer): Promise<CommandResult> {
    await this.reopen();
    const child = spawn('ssh', this.commandArgs(command), { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
    return collect(child);
  }

  /** exec(), throwing INTERNAL with the remote stderr when the command fails. */
  async run(command: string, what: string, input?: string | Buffer): Promise<string> {
    const result = await this.exec(command, input);
    if (result.code !== 0) {
      throw new BerthError(
        'INTERNAL',
        `${what} on ${this.where} failed (exit ${result.code ?? 'signal'}): ${result.stderr.trim().slice(-2000)}`,
      );
    }
    return result.stdout;
  }

  /** Forwards a free local port to `remotePort` on the machine's loopback; returns the local port. */
  async forward(remotePort: number): Promise<number> {
    await this.reopen();
    for (let attempt = 0; ; attempt++) {
      const local = await freeLoopbackPort();
      const spec = `127.0.0.1:${local}:127.0.0.1:${remotePort}`;
      const result = await this.control('forward', ['-L', spec]);
      if (result.code === 0) return local;
      if (attempt >= 3)
        throw new BerthError('INTERNAL', `cannot forward a port to ${this.where}: ${result.stderr.trim()}`);
    }
  }

  async cancelForward(localPort: number, remotePort: number): Promise<void> {
    if (this.master === undefined) return;
    await this.control('cancel', ['-L', `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`]);
  }

  /** Ends the master connection (its forwards with it). */
  async close(): Promise<void> {
    const master = this.master;
    if (master !== undefined && master.exitCode === null && master.signalCode === null) {
      const exited = new Promise((resolve) => master.once('close', resolve));
      master.kill('SIGTERM');
      await exited;
    }
    this.forget();
  }

  private forget(): void {
    this.master = undefined;
    this.opening = undefined;
    if (this.controlDir !== undefined) rmSync(this.controlDir, { recursive: true, force: true });
    this.controlDir = undefined;
  }
}

/**
 * Waits for a child to end and returns its exit code and output; with `readStdout` false its stdout
 * is left alone (it is piped elsewhere, as bytes).
 */
export function collect(child: ChildProcess, readStdout = true): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  if (readStdout) child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({ code: -1, stdout, stderr: stderr + error.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
