/**
 * The HTTP front end: a node:http server whose one request listener finds the route, checks the
 * key and the method, and hands over to the route's handler. It counts requests in flight so a
 * graceful stop can wait for them: stop accepting, answer what is running, then close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, toBerthError } from '../../core/errors.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.js';
import { health, score, swagger } from './azure-handlers.js';
import type { HttpContext } from './context.js';
import { Exchange } from './exchange.js';
import { matchRoute, unknownRoute, unknownV2Route, type RouteMatch } from './routes.js';
import * as v2 from './v2-handlers.js';
import { REPLICA_TOKEN_HEADER } from '../auth.js';
import { replicaStatus } from '../replica-status.js';
import type { ResolvedScoringOptions } from '../options.js';

export interface HttpFrontEnd {
  readonly server: Server;
  /** Starts listening; resolves with the port bound. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, waits up to `timeoutMs` for requests in flight, then closes every connection. */
  close(timeoutMs: number): Promise<void>;
  /** Readiness answers 503 from now on; every other route still serves (a delayed stop). */
  unready(): void;
  readonly inFlight: number;
}

export function createHttpFrontEnd(context: HttpContext): HttpFrontEnd {
  let inFlight = 0;
  let draining = false;
  let leaving = false;
  let idle: (() => void) | undefined;

  const finish = (exchange: Exchange): void => {
    inFlight--;
    const seconds = (performance.now() - exchange.started) / 1000;
    context.metrics.recordRequest(exchange.route.label, exchange.status, seconds);
    // The entry is built only when it will be written: at 'warn' and quieter a request costs no log work.
    if (context.logger.enabled('info')) logRequest(exchange, seconds);
    if (inFlight === 0 && idle !== undefined) idle();
  };

  const logRequest = (exchange: Exchange, seconds: number): void => {
    context.logger.request({
      id: exchange.id,
      method: exchange.req.method ?? '',
      route: exchange.route.label,
      status: exchange.status,
      duration_ms: Math.round(seconds * 1e6) / 1000,
      model: exchange.model,
      batch_size: exchange.batchSize,
      error: exchange.errorMessage,
    });
  };

  const fail = (exchange: Exchange, error: unknown): void => {
    const berth = toBerthError(error);
    if (berth.code === 'INTERNAL')
      context.logger.log('error', 'internal-error', { id: exchange.id, message: berth.message });
    if (berth.code === 'UPSTREAM_TIMEOUT' || berth.code === 'REQUEST_TIMEOUT') context.metrics.timeouts.inc();
    if (exchange.res.headersSent) {
      exchange.res.destroy();
      if (exchange.status === 0) exchange.status = berth.status;
    } else {
      exchange.sendError(berth);
    }
    afterError(exchange);
  };

  /**
   * A body refused before it was read is discarded so the client can finish sending and read the
   * answer; one still arriving two seconds later (a huge or endless upload) has its socket cut.
   */
  const afterError = (exchange: Exchange): void => {
    const { req } = exchange;
    if (!req.complete && !req.destroyed) {
      req.resume();
      setTimeout(() => {
        if (!req.complete) req.socket.destroy();
      }, 2000).unref();
    }
  };

  const dispatch = (exchange: Exchange): Promise<void> | void => {
    switch (exchange.route.id) {
      case 'health':
        return health(context, exchange);
      case 'score':
        return score(context, exchange);
      case 'swagger':
        return swagger(context, exchange);
      case 'metrics':
        return exchange.send(200, PROMETHEUS_CONTENT_TYPE, context.metrics.render());
      case 'berth-status':
        return exchange.sendJson(
          200,
          JSON.stringify(
            replicaStatus(context.engine, context.options.engine.memoryLimitBytes, {
              admission: context.admission,
              maxConcurrent: context.options.maxConcurrentRequests,
            }),
          ),
        );
      case 'v2-server':
        return v2.serverInfo(exchange);
      case 'v2-live':
        return v2.serverLive(context, exchange);
      case 'v2-ready':
        return v2.serverReady(context, exchange);
      case 'v2-stats-all':
      case 'v2-stats':
        return v2.statistics(context, exchange);
      case 'v2-model':
        return v2.modelInfo(context, exchange);
      case 'v2-model-ready':
        return v2.modelReady(context, exchange);
      case 'v2-infer':
        return v2.infer(context, exchange);
      case 'v2-config':
        return v2.modelConfiguration(context, exchange);
      case 'v2-repo-index':
        return v2.repositoryIndex(context, exchange);
      case 'v2-repo-load':
        return v2.repositoryLoad(context, exchange);
      case 'v2-repo-unload':
        return v2.repositoryUnload(context, exchange);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    let match: RouteMatch | undefined;
    let matchError: Error | undefined;
    try {
      match = matchRoute(path);
    } catch (error) {
      matchError = toBerthError(error);
    }
    const family = path.startsWith('/v2') ? unknownV2Route : unknownRoute;
    const exchange = new Exchange(req, res, match?.route ?? family, match?.model, match?.version);
    // One listener for both jobs ('close' comes once): count the request done, then abort its
    // work if the client left before the answer.
    res.on('close', () => {
      finish(exchange);
      exchange.closed();
    });
    if (draining) exchange.closeConnection = true;
    try {
      if (matchError !== undefined) throw matchError;
      if (match === undefined) throw new BerthError('NOT_FOUND', `no route for ${req.method} ${path}`);
      const { route } = match;
      if (!route.open && !context.auth.checkReplica(req.headers[REPLICA_TOKEN_HEADER])) {
        throw new BerthError(
          'UNAUTHORIZED',
          'missing or invalid replica token: this replica serves only through its endpoint gateway',
        );
      }
      if (!route.open && !context.auth.check(req.headers.authorization)) {
        throw new BerthError(
          'UNAUTHORIZED',
          'missing or invalid API key: send "Authorization: Bearer <key>"',
        );
      }
      const method = req.method;
      if (method !== route.method && !(method === 'HEAD' && route.method === 'GET')) {
        const allow = route.method === 'GET' ? 'GET, HEAD' : 'POST';
        exchange.sendError(
          new BerthError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}: use ${allow}`),
          { allow },
        );
        afterError(exchange);
        return;
      }
      if (draining && (route.method === 'POST' || route.id === 'v2-ready')) {
        throw new BerthError('SHUTTING_DOWN', 'the server is shutting down');
      }
      if (leaving && route.id === 'v2-ready') {
        throw new BerthError(
          'SHUTTING_DOWN',
          'the server is stopping: it answers what it is sent until then',
        );
      }
      const pending = dispatch(exchange);
      if (pending !== undefined) pending.catch((error: unknown) => fail(exchange, error));
    } catch (error) {
      fail(exchange, error);
    }
  };

  const { headersTimeoutMs } = context.options;
  const server = createServer(
    {
      maxHeaderSize: context.options.maxHeaderBytes,
      headersTimeout: headersTimeoutMs,
      // Node looks for late headers on this timer; a quarter of the limit keeps the 408 close to it.
      connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeoutMs / 4))),
    },
    onRequest,
  );
  // A client that disconnects mid-request is not an error of the server's.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const { status, reason, message } = clientErrorAnswer(error.code, context.options);
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  return {
    server,
    get inFlight() {
      return inFlight;
    },
    unready() {
      leaving = true;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    async close(timeoutMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** What a request node's parser refused gets: the status, its reason phrase and a message. */
export function clientErrorAnswer(
  code: string | undefined,
  options: Pick<ResolvedScoringOptions, 'maxHeaderBytes' | 'headersTimeoutMs'>,
): { status: number; reason: string; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        reason: 'Request Header Fields Too Large',
        message: `request headers are larger than ${options.maxHeaderBytes} bytes`,
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'Payload Too Large', message: 'Payload Too Large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        reason: 'Request Timeout',
        message: `the request headers did not arrive within ${options.headersTimeoutMs} ms`,
      };
    default:
      return { status: 400, reason: 'Bad Request', message: 'Bad Request' };
  }
}
