/**
 * Fake replicas for the gateway tests: real HTTP servers on loopback whose behaviour a test sets
 * (a name to echo, a delay, a status, a reset), and helpers to send many requests through the
 * gateway (the client itself is test/helpers/http.ts).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayDeployment } from '../../src/endpoints/types.js';
import type { ReplicaStatus } from '../../src/targets/target.js';
import type { Answer } from '../helpers/http.js';

export interface FakeReplica {
  name: string;
  url: string;
  received: number;
  mirrored: number;
  bodyBytes: number;
  behaviour: { delayMs: number; status: number; message: string | undefined; reset: boolean };
  status(): ReplicaStatus;
  close(): Promise<void>;
}

export async function startFakeReplica(name: string): Promise<FakeReplica> {
  const replica: FakeReplica = {
    name,
    url: '',
    received: 0,
    mirrored: 0,
    bodyBytes: 0,
    behaviour: { delayMs: 0, status: 200, message: undefined, reset: false },
    status: () => ({ id: `${name}-0`, url: replica.url, state: 'ready', restarts: 0, reason: undefined }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    replica.received += 1;
    if (req.headers['berth-mirrored'] === 'true') replica.mirrored += 1;
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      replica.bodyBytes += bytes;
      const { delayMs, status, message, reset } = replica.behaviour;
      setTimeout(() => {
        if (reset) {
          req.socket.destroy();
          return;
        }
        const body = JSON.stringify(
          message === undefined
            ? { deployment: name, path: req.url, bytes, authorization: req.headers.authorization ?? null }
            : { message },
        );
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  replica.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return replica;
}

export function fakeDeployment(
  replicas: FakeReplica[],
  settings: { maxConcurrentRequestsPerInstance?: number; requestTimeoutMs?: number } = {},
): GatewayDeployment {
  return {
    name: replicas[0]!.name,
    requestSettings: {
      maxConcurrentRequestsPerInstance: settings.maxConcurrentRequestsPerInstance ?? 50,
      requestTimeoutMs: settings.requestTimeoutMs ?? 5000,
    },
    instanceCount: replicas.length,
    replicas: () => replicas.map((replica) => replica.status()),
  };
}

export { send, type Answer } from '../helpers/http.js';

/** Runs `count` requests with `concurrency` at once; returns the answers in completion order. */
export async function sendMany(
  count: number,
  concurrency: number,
  make: (index: number) => Promise<Answer>,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        answers.push(await make(index));
      }
    }),
  );
  return answers;
}

export function servedBy(answer: Answer): string | undefined {
  const header = answer.headers['berth-deployment'];
  return Array.isArray(header) ? header[0] : header;
}
