/**
 * The control plane's HTTP server: `/health` and `/openapi.json` are open; everything under
 * `/api/` needs `Authorization: Bearer <token>` (compared in constant time). Requests in flight
 * are tracked so a stop can wait for them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError } from '../../core/errors.js';
import { bearerToken, keyMatches } from '../../endpoints/keys.js';
import { openApiDocument } from '../openapi.js';
import { sendError, sendJson } from './io.js';
import type { Router } from './router.js';

export interface ApiServerOptions {
  host: string;
  port: number;
  token: string;
  router: Router;
}

export class ApiServer {
  readonly #active = new Set<Promise<void>>();

  private constructor(
    private readonly server: Server,
    private readonly options: ApiServerOptions,
  ) {}

  static async start(options: ApiServerOptions): Promise<ApiServer> {
    const server = createServer();
    const api = new ApiServer(server, options);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const handled = api.handle(request, response);
      api.#active.add(handled);
      void handled.finally(() => api.#active.delete(handled));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return api;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    const host = this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const url = new URL(request.url ?? '/', 'http://control-plane');
      if (request.method === 'GET' && url.pathname === '/health') {
        sendJson(response, 200, { status: 'ok', pid: process.pid });
        return;
      }
      if (request.method === 'GET' && url.pathname === '/openapi.json') {
        sendJson(response, 200, openApiDocument);
        return;
      }
      if (
        !keyMatches(bearerToken(request.headers.authorization), {
          primary: this.options.token,
          secondary: undefined,
        })
      ) {
        throw new BerthError('UNAUTHORIZED', 'missing or wrong bearer token (see <workspace>/server.json)');
      }
      const { handler, params } = this.options.router.match(request.method ?? 'GET', url.pathname);
      const result = await handler({ request, response, params, query: url.searchParams });
      if (result !== undefined) sendJson(response, result.status ?? 200, result.body);
    } catch (error) {
      sendError(response, error);
    }
  }

  /** Stops accepting, waits for requests in flight (log streams are cut), closes the sockets. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = new Promise((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([Promise.allSettled([...this.#active]), deadline]);
    this.server.closeAllConnections();
    await stopped;
  }
}
