/**
 * The local end of one ssh replica, run as its own process (`node bridge.js --config <file>`) so
 * the local target's supervised Replica can own it exactly as it owns a local scoring server: it
 * opens an ssh session running the remote supervisor, hands it the hello line (from the
 * BERTH_SSH_HELLO variable, so the replica token never appears in an argument), relays the
 * server's output, and when the server says it listens on remote port P, forwards a local port to
 * P through the target's master connection and says `listening` on that local port instead.
 * SIGTERM ends the session's stdin (the remote supervisor drains the server); when the session
 * ends, the forward is cancelled and the bridge exits with the session's code.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { helloVariable, type BridgeConfig } from './bridge-config.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function control(config: BridgeConfig, operation: string, spec: string): Promise<number | null> {
  const child = spawn('ssh', [...config.control, '-O', operation, '-L', spec, '--', config.host], {
    stdio: 'ignore',
  });
  return new Promise((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', resolve);
  });
}

function fail(message: string): void {
  process.stderr.write(`${JSON.stringify({ event: 'failed', code: 'RUN_FAILED', message })}\n`);
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--config');
  const config = JSON.parse(readFileSync(process.argv[at + 1] ?? '', 'utf8')) as BridgeConfig;
  const hello = process.env[helloVariable] ?? '';
  delete process.env[helloVariable];
  const session = spawn('ssh', config.session, { stdio: ['pipe', 'pipe', 'inherit'] });
  session.stdin.on('error', () => undefined);
  session.stdin.write(`${hello}\n`);
  let forwarded: string | undefined;
  const stop = (): void => {
    session.stdin.end();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  createInterface({ input: session.stdout }).on('line', (text) => {
    if (!text.startsWith('{"event":"listening"')) {
      process.stdout.write(`${text}\n`);
      return;
    }
    const event = JSON.parse(text) as { port: number; grpcPort?: number };
    // Only the HTTP port is forwarded: gRPC is not reachable through this bridge.
    delete event.grpcPort;
    void (async () => {
      for (let attempt = 0; attempt < 4; attempt++) {
        const local = await freePort();
        const spec = `127.0.0.1:${local}:127.0.0.1:${event.port}`;
        if ((await control(config, 'forward', spec)) === 0) {
          forwarded = spec;
          process.stdout.write(`${JSON.stringify({ ...event, port: local })}\n`);
          return;
        }
      }
      fail(`cannot forward a local port to the replica's port ${event.port} on ${config.host}`);
      stop();
    })();
  });
  session.on('error', (error) => fail(`cannot run ssh: ${error.message}`));
  session.on('close', (code, signal) => {
    void (async () => {
      if (forwarded !== undefined) await control(config, 'cancel', forwarded);
      process.exit(code ?? (signal === null ? 1 : 128));
    })();
  });
}

await main();
