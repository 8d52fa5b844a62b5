/**
 * The local end of one ssh replica, run as its own process (`node bridge.js --config <file>`) so
 * the local target's supervised Replica can own it exactly as it owns a local scoring server: it
 * opens an ssh session attached to the replica's remote supervisor (which starts one, or adopts the
 * one already running), hands it the hello line (from the BERTH_SSH_HELLO variable, so the replica
 * token never appears in an argument), relays the server's output, and when the server listens on
 * remote port P, forwards a local port to P over a connection of its own and says `listening` on
 * that local port instead.
 *
 * When the session or the forward drops (network, sshd restarted), the bridge reconnects with a
 * bounded back-off and keeps the same local port, so the replica's URL does not change and the
 * remote server, which kept running, is adopted. SIGTERM asks the supervisor to stop (it drains the
 * server) and exits when the session ends; the bridge exits with the server's exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { helloVariable, type BridgeConfig } from './bridge-config.js';
import { freeLoopbackPort } from '../../core/free-port.js';

/** ssh's own exit code for a connection that failed or dropped. */
const connectionLost = 255;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function fail(message: string): void {
  process.stderr.write(`${JSON.stringify({ event: 'failed', code: 'RUN_FAILED', message })}\n`);
}

class Bridge {
  private session: ChildProcess | undefined;
  private tunnel: ChildProcess | undefined;
  private localPort: number | undefined;
  private remotePort: number | undefined;
  private stopping = false;
  private failures = 0;

  constructor(
    private readonly config: BridgeConfig,
    private readonly hello: string,
  ) {}

  private delay(): number {
    const { initialMs, maxMs } = this.config.reconnect;
    return Math.min(maxMs, initialMs * 2 ** Math.min(this.failures++, 16));
  }

  attach(): void {
    const session = spawn('ssh', this.config.session, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.session = session;
    session.stdin.on('error', () => undefined);
    session.stdin.write(`${this.hello}\n`);
    createInterface({ input: session.stdout }).on('line', (text) => {
      if (!text.startsWith('{"event":"listening"')) {
        process.stdout.write(`${text}\n`);
        return;
      }
      this.failures = 0;
      const event = JSON.parse(text) as { port: number };
      void this.forward(event.port);
    });
    session.on('error', (error) => fail(`cannot run ssh: ${error.message}`));
    session.on('close', (code, signal) => void this.sessionEnded(code, signal));
  }

  private async sessionEnded(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.session = undefined;
    if (!this.stopping && code === connectionLost) {
      // The connection is gone, not the server: attach again (the supervisor is adopted).
      await sleep(this.delay());
      if (!this.stopping) this.attach();
      else this.exit(0);
      return;
    }
    this.exit(code ?? (signal === null ? 1 : 128));
  }

  /** Forwards the local port (the same one after a reconnection) to the server's remote port. */
  private async forward(remotePort: number): Promise<void> {
    if (this.tunnel !== undefined && this.remotePort === remotePort) return;
    this.remotePort = remotePort;
    const old = this.tunnel;
    this.tunnel = undefined;
    old?.kill('SIGTERM');
    const first = this.localPort === undefined;
    for (let attempt = 0; !this.stopping; attempt++) {
      const local = this.localPort ?? (await freeLoopbackPort());
      const tunnel = spawn(
        'ssh',
        [
          ...this.config.forward,
          '-T',
          '-L',
          `127.0.0.1:${local}:127.0.0.1:${remotePort}`,
          '--',
          this.config.host,
          'cat > /dev/null',
        ],
        { stdio: ['pipe', 'ignore', 'ignore'] },
      );
      tunnel.on('error', () => undefined);
      tunnel.stdin?.on('error', () => undefined);
      let closed = false;
      tunnel.on('close', () => {
        closed = true;
        if (this.tunnel === tunnel) this.tunnelEnded();
      });
      while (!closed && !(await accepts(local))) await sleep(50);
      if (!closed) {
        this.tunnel = tunnel;
        this.localPort = local;
        if (first) process.stdout.write(`${JSON.stringify({ event: 'listening', port: local })}\n`);
        return;
      }
      if (first && attempt >= 3) {
        fail(`cannot forward a local port to the replica's port ${remotePort} on ${this.config.host}`);
        this.stop();
        return;
      }
      await sleep(first ? 0 : this.delay());
    }
  }

  private tunnelEnded(): void {
    this.tunnel = undefined;
    const port = this.remotePort;
    if (this.stopping || port === undefined) return;
    this.remotePort = undefined;
    void sleep(this.delay()).then(() => this.forward(port));
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    const session = this.session;
    if (session === undefined) {
      this.exit(0);
      return;
    }
    session.stdin?.write('stop\n');
    // Past the drain grace, end the session whatever the machine says.
    setTimeout(() => session.kill('SIGTERM'), this.config.stopMs).unref();
  }

  private exit(code: number): void {
    this.tunnel?.kill('SIGTERM');
    process.exit(code);
  }
}

function main(): void {
  const at = process.argv.indexOf('--config');
  const config = JSON.parse(readFileSync(process.argv[at + 1] ?? '', 'utf8')) as BridgeConfig;
  const hello = process.env[helloVariable] ?? '';
  delete process.env[helloVariable];
  const bridge = new Bridge(config, hello);
  process.on('SIGTERM', () => bridge.stop());
  process.on('SIGINT', () => bridge.stop());
  bridge.attach();
}

main();
