/**
 * How each platform hands an HTTP request to a handler, and how the handler's answer goes back on
 * the wire, as the platforms document them: a WHATWG Request and Response (fetch), an API Gateway
 * HTTP API payload 2.0 event and structured result (aws-lambda), an HttpRequest-shaped object and
 * an HttpResponseInit (azure-functions). The instance process calls these; the tests build the
 * same shapes.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionKind } from '../kinds.js';
import type { HttpAnswer, HttpInvocation } from './messages.js';

export type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

const origin = 'http://127.0.0.1';

function body(request: HttpInvocation): Buffer | undefined {
  return request.method === 'GET' || request.method === 'HEAD'
    ? undefined
    : Buffer.from(request.bodyBase64, 'base64');
}

/** An API Gateway HTTP API (payload format 2.0) event for the request, on the `$default` stage. */
export function lambdaEvent(request: HttpInvocation): object {
  const query = request.path.indexOf('?');
  const rawPath = query === -1 ? request.path : request.path.slice(0, query);
  const rawQueryString = query === -1 ? '' : request.path.slice(query + 1);
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: request.headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'berth-local',
      domainName: '127.0.0.1',
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body: request.bodyBase64,
    isBase64Encoded: true,
  };
}

/** An object with the parts of `@azure/functions`' HttpRequest a handler reads. */
export function azureRequest(request: HttpInvocation): object {
  const data = body(request) ?? Buffer.alloc(0);
  return {
    method: request.method,
    url: `${origin}${request.path}`,
    headers: new Headers(request.headers),
    query: new URL(`${origin}${request.path}`).searchParams,
    params: { path: request.path.split('?', 1)[0]!.slice(1) },
    arrayBuffer: () => Promise.resolve(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    text: () => Promise.resolve(data.toString('utf8')),
    json: () => Promise.resolve(JSON.parse(data.toString('utf8')) as unknown),
  };
}

function record(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value instanceof Headers) value.forEach((text, name) => (out[name] = text));
  else if (typeof value === 'object' && value !== null)
    for (const [name, text] of Object.entries(value)) out[name.toLowerCase()] = String(text);
  return out;
}

/** Calls the handler with the platform's request shape and brings its answer back to HTTP. */
export async function callHandler(
  kind: FunctionKind,
  handler: Handler,
  request: HttpInvocation,
): Promise<HttpAnswer> {
  switch (kind) {
    case 'fetch': {
      const response = (await handler(
        new Request(`${origin}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: body(request),
        }),
      )) as Response;
      const bytes = Buffer.from(await response.arrayBuffer());
      return {
        status: response.status,
        headers: record(response.headers),
        bodyBase64: bytes.toString('base64'),
      };
    }
    case 'aws-lambda': {
      const result = (await handler(lambdaEvent(request), { awsRequestId: randomUUID() })) as {
        statusCode: number;
        headers?: Record<string, string>;
        body?: string;
        isBase64Encoded?: boolean;
      };
      const bytes = Buffer.from(result.body ?? '', result.isBase64Encoded === true ? 'base64' : 'utf8');
      return {
        status: result.statusCode,
        headers: record(result.headers),
        bodyBase64: bytes.toString('base64'),
      };
    }
    case 'azure-functions': {
      const result = (await handler(azureRequest(request), { invocationId: randomUUID() })) as {
        status?: number;
        headers?: Record<string, string>;
        body?: Uint8Array | string;
      };
      const bytes =
        typeof result.body === 'string'
          ? Buffer.from(result.body)
          : Buffer.from(result.body ?? new Uint8Array());
      return {
        status: result.status ?? 200,
        headers: record(result.headers),
        bodyBase64: bytes.toString('base64'),
      };
    }
  }
}
