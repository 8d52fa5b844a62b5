/**
 * Forwards one request to a replica and its answer back, streaming both ways with backpressure.
 * The first `replayLimitBytes` of the body are kept so that a request whose connection fails
 * before any answer (a refused connection, a reset keep-alive socket during a drain) is sent once
 * more to another ready replica, and so a mirror can copy it; a larger body streams without a copy
 * and is not retried. A replica's answer, whatever its status, is passed through as is; the
 * gateway answers by itself only with 408 (request_timeout_ms passed) and 502 (the replica failed
 * before answering), always with the reason.
 */
import {
  request,
  type Agent,
  type ClientRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { ReadyReplica } from './balancer.js';
import { requestHeaders, responseHeaders } from './headers.js';
import { replicaTarget } from './replica-token.js';

export interface ForwardOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path and query on the replica. */
  path: string;
  deployment: string;
  agent: Agent;
  timeoutMs: number;
  replayLimitBytes: number;
  first: ReadyReplica;
  /** Another replica for a retry, not one of `exclude`; undefined when none is left. */
  pick(exclude: ReadonlySet<string>): ReadyReplica | undefined;
  /** Balancer accounting: a request is outstanding on a replica from begin to end. */
  begin(url: string): void;
  end(url: string): void;
  /** Called once the whole body has arrived, when it fitted in the replay buffer. */
  onBody?(body: Buffer): void;
  sendError(status: number, code: string, message: string, closeConnection: boolean): void;
}

const retryableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const maxAttempts = 3;

export function forward(options: ForwardOptions): Promise<void> {
  const { req, res } = options;
  return new Promise<void>((resolve) => {
    const chunks: Buffer[] = [];
    let buffered = 0;
    let replayable = true;
    let ended = false;
    let answered = false;
    let done = false;
    let attempts = 0;
    let upstream: ClientRequest | undefined;
    let current: ReadyReplica | undefined;
    const failed = new Set<string>();

    const release = (): void => {
      if (current !== undefined) options.end(current.url);
      current = undefined;
    };
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      release();
      resolve();
    };
    const timer = setTimeout(() => {
      upstream?.destroy();
      if (!res.headersSent) {
        options.sendError(
          408,
          'REQUEST_TIMEOUT',
          `the request timed out after ${options.timeoutMs} ms (request_timeout_ms of deployment "${options.deployment}")`,
          !ended,
        );
      } else {
        res.destroy();
      }
      finish();
    }, options.timeoutMs);

    res.on('close', () => {
      if (!res.writableFinished) upstream?.destroy();
      finish();
    });
    req.on('error', () => {
      upstream?.destroy();
      finish();
    });

    const send = (replica: ReadyReplica): void => {
      attempts += 1;
      current = replica;
      options.begin(replica.url);
      const headers = requestHeaders(req.headers, '', req.socket.remoteAddress);
      const target = replicaTarget(replica.url, options.path, headers);
      headers.host = target.host;
      const outgoing = request(target, { method: req.method, headers, agent: options.agent });
      upstream = outgoing;
      outgoing.on('response', (answer) => {
        if (done) {
          answer.resume();
          return;
        }
        answered = true;
        res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.headers, options.deployment));
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.on('end', release);
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        if (done || outgoing !== upstream) return;
        release();
        if (answered) {
          res.destroy(error);
          return;
        }
        const retryable =
          replayable &&
          attempts < maxAttempts &&
          (retryableCodes.has(error.code ?? '') || outgoing.reusedSocket);
        if (retryable) {
          // A reset keep-alive socket says nothing against the replica itself: it may be tried again.
          if (!outgoing.reusedSocket) failed.add(replica.url);
          const next = options.pick(failed);
          if (next !== undefined) {
            send(next);
            replay();
            return;
          }
        }
        options.sendError(
          502,
          'UPSTREAM_FAILED',
          `replica ${replica.id} of deployment "${options.deployment}" failed before answering: ${error.message || error.code || 'connection closed'}`,
          !ended,
        );
        finish();
      });
    };

    const replay = (): void => {
      for (const chunk of chunks) upstream?.write(chunk);
      if (ended) upstream?.end();
      else req.resume();
    };

    req.on('data', (chunk: Buffer) => {
      if (replayable) {
        buffered += chunk.length;
        if (buffered > options.replayLimitBytes) {
          replayable = false;
          chunks.length = 0;
        } else {
          chunks.push(chunk);
        }
      }
      const outgoing = upstream;
      if (outgoing !== undefined && !outgoing.write(chunk)) {
        req.pause();
        outgoing.once('drain', () => req.resume());
      }
    });
    req.on('end', () => {
      ended = true;
      upstream?.end();
      if (replayable) options.onBody?.(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });

    send(options.first);
  });
}
