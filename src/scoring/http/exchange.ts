/**
 * One request and its answer. The exchange writes every response in one `res.end` (binary
 * answers excepted), sets the request-id headers, and is the one place a BerthError becomes an
 * HTTP status and an error body: `{"message"}` on Azure routes, `{"error"}` on v2 routes.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { BerthError, errorCatalogue, toBerthError } from '../../core/errors.js';
import { CancelSource, type CancelSignal } from '../cancel.js';
import { newRequestId } from '../request-id.js';
import type { Route } from './routes.js';

export type ExchangePhase = 'body' | 'engine';

export class Exchange {
  readonly id: string;
  /** The client's own request id, echoed in x-ms-client-request-id. */
  readonly clientRequestId: string | undefined;
  readonly started = performance.now();
  status = 0;
  model: string | undefined;
  batchSize: number | undefined;
  errorMessage: string | undefined;
  /** Where the request was when its deadline passed: reading the body (408) or in the engine (504). */
  phase: ExchangePhase = 'body';
  /** Set when the deadline passes or the client goes away. */
  controller: CancelSource | undefined;
  private timer: NodeJS.Timeout | undefined;
  closeConnection = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    public route: Route,
    readonly modelParam: string | undefined,
    readonly versionParam: string | undefined,
  ) {
    const headers = req.headers;
    const given = headers['x-request-id'];
    const clientGiven = headers['x-ms-client-request-id'];
    this.clientRequestId =
      typeof clientGiven === 'string' ? clientGiven : typeof given === 'string' ? given : undefined;
    this.id = typeof given === 'string' && given !== '' && given.length <= 200 ? given : newRequestId();
  }

  /**
   * Starts the request's deadline. One rule for every route: a deadline that passes while the
   * body is still arriving is the client's delay (408 Request Timeout); one that passes while the
   * request waits for a slot or runs in the engine is the server's (504 Gateway Timeout).
   */
  startDeadline(timeoutMs: number): CancelSignal {
    const controller = new CancelSource();
    this.controller = controller;
    this.timer = setTimeout(() => {
      const code = this.phase === 'body' ? 'REQUEST_TIMEOUT' : 'UPSTREAM_TIMEOUT';
      const where =
        this.phase === 'body' ? 'while the request body was arriving' : 'before the model answered';
      controller.abort(new BerthError(code, `the request timed out after ${timeoutMs} ms ${where}`));
    }, timeoutMs);
    return controller.signal;
  }

  /**
   * Called by the server's one 'close' listener (after it has counted the request finished): a
   * client that goes away before its answer aborts the request's signal.
   */
  closed(): void {
    if (!this.res.writableFinished && this.controller && !this.controller.signal.aborted) {
      this.controller.abort(new BerthError('BAD_INPUT', 'the client closed the connection'));
    }
  }

  stopDeadline(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get done(): boolean {
    return this.status !== 0;
  }

  private headers(contentType: string, length: number): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      'content-type': contentType,
      'content-length': length,
      'x-request-id': this.id,
    };
    if (this.clientRequestId !== undefined) headers['x-ms-client-request-id'] = this.clientRequestId;
    if (this.closeConnection) headers.connection = 'close';
    return headers;
  }

  send(status: number, contentType: string, body: string | Uint8Array, extra?: OutgoingHttpHeaders): void {
    if (this.done || this.res.headersSent) return;
    this.stopDeadline();
    this.status = status;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    const headers = this.headers(contentType, length);
    if (extra !== undefined) Object.assign(headers, extra);
    this.res.writeHead(status, headers);
    this.res.end(body);
  }

  sendJson(status: number, json: string, extra?: OutgoingHttpHeaders): void {
    this.send(status, 'application/json', json, extra);
  }

  /** A JSON header followed by binary tensors (the binary tensor data extension). */
  sendBinary(status: number, json: string, parts: readonly Uint8Array[]): void {
    if (this.done || this.res.headersSent) return;
    this.stopDeadline();
    this.status = status;
    const header = Buffer.from(json, 'utf8');
    let length = header.length;
    for (const part of parts) length += part.byteLength;
    const headers = this.headers('application/octet-stream', length);
    headers['inference-header-content-length'] = header.length;
    this.res.writeHead(status, headers);
    this.res.cork();
    this.res.write(header);
    for (const part of parts) this.res.write(part);
    this.res.end();
  }

  /** `status` overrides the catalogue's where a protocol says otherwise (v2 readiness answers 400). */
  sendError(error: unknown, extra?: OutgoingHttpHeaders, status?: number): void {
    const berth = toBerthError(error);
    status ??= errorCatalogue[berth.code].status;
    this.errorMessage = berth.message;
    const headers: OutgoingHttpHeaders = { ...extra };
    if (berth.code === 'TOO_MANY_REQUESTS') headers['retry-after'] = '1';
    if (berth.code === 'PAYLOAD_TOO_LARGE' || berth.code === 'REQUEST_TIMEOUT') this.closeConnection = true;
    const key = this.route.family === 'v2' ? 'error' : 'message';
    this.sendJson(status, `{"${key}":${JSON.stringify(berth.message)}}`, headers);
  }
}
