/**
 * The device's own HTTP address: every request is passed to the scoring server that runs now
 * (`/score`, the Open Inference Protocol v2 routes, health), so the address stays the same when a
 * new version takes over. `GET /edge/twin` answers the device's twin; with no server running,
 * scoring routes answer 503 NOT_READY.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Twin } from '../targets/edge/index.js';

export interface LocalApiSource {
  /** The running scoring server's loopback port, or undefined when none runs. */
  port(): number | undefined;
  twin(): Twin;
  /** Called with the status of each POST answered (scoring requests), for the twin's counters. */
  answered(status: number): void;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function forward(req: IncomingMessage, res: ServerResponse, port: number, source: LocalApiSource): void {
  const upstream = request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (reply) => {
      if (req.method === 'POST') source.answered(reply.statusCode ?? 502);
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    if (!res.headersSent)
      answer(res, 502, { error: { code: 'NOT_READY', message: `scoring server: ${error.message}` } });
    else res.destroy();
  });
  req.pipe(upstream);
}

export async function startLocalApi(source: LocalApiSource, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/edge/twin') {
      answer(res, 200, source.twin());
      return;
    }
    const upstream = source.port();
    if (upstream === undefined) {
      req.resume();
      answer(res, 503, { error: { code: 'NOT_READY', message: 'no deployment runs on this device yet' } });
      return;
    }
    forward(req, res, upstream, source);
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => resolveListen());
  });
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
