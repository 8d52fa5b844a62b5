/**
 * A fresh process that loads one function package as its platform would and invokes it with the
 * platform's documented request shapes, written out here by hand: a WHATWG Request (fetch), an API
 * Gateway HTTP API payload 2.0 event (aws-lambda), `@azure/functions`' own HttpRequest
 * (azure-functions). Reads `{kind, root, requests}` on stdin, prints the raw results as one JSON
 * line after `RESULTS `.
 *
 * A request is `{method, path, headers, body}`; for aws-lambda it may be a whole `event` instead.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import azureFunctions from '@azure/functions';

// A CommonJS package: its classes come from the default export.
const { HttpRequest } = azureFunctions;

export interface ChildRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** aws-lambda only: the event as given, shape unchecked. */
  event?: unknown;
  /** aws-lambda only: the API Gateway stage (default `$default`). */
  stage?: string;
}

interface Input {
  kind: 'fetch' | 'aws-lambda' | 'azure-functions';
  root: string;
  requests: ChildRequest[];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function lambdaEvent(request: ChildRequest): unknown {
  if (request.event !== undefined) return request.event;
  const [rawPath = '/', rawQueryString = ''] = (request.path ?? '/').split('?');
  const stage = request.stage ?? '$default';
  const path = stage === '$default' ? rawPath : `/${stage}${rawPath}`;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString,
    headers: request.headers ?? {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api-id',
      domainName: 'id.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'id',
      http: {
        method: request.method ?? 'GET',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: 'test',
      },
      requestId: 'id',
      routeKey: '$default',
      stage,
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1583348638390,
    },
    ...(request.body === undefined ? {} : { body: request.body }),
    isBase64Encoded: false,
  };
}

async function main(): Promise<void> {
  const input = JSON.parse(await readStdin()) as Input;
  const results: unknown[] = [];
  if (input.kind === 'fetch') {
    const module = (await import(pathToFileURL(join(input.root, 'index.js')).href)) as {
      default: { fetch(request: Request): Promise<Response> };
    };
    for (const request of input.requests) {
      const response = await module.default.fetch(
        new Request(`https://fn.example.com${request.path ?? '/'}`, {
          method: request.method ?? 'GET',
          headers: request.headers,
          body: request.body,
        }),
      );
      results.push({
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.text(),
      });
    }
  } else if (input.kind === 'aws-lambda') {
    const module = (await import(pathToFileURL(join(input.root, 'index.mjs')).href)) as {
      handler(event: unknown, context: unknown): Promise<unknown>;
    };
    for (const request of input.requests)
      results.push(await module.handler(lambdaEvent(request), { awsRequestId: 'test' }));
  } else {
    const module = (await import(pathToFileURL(join(input.root, 'berth', 'azure-functions.js')).href)) as {
      handler(
        request: unknown,
        context: unknown,
      ): Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }>;
    };
    for (const request of input.requests) {
      const answer = await module.handler(
        new HttpRequest({
          method: request.method ?? 'GET',
          url: `https://fn.azurewebsites.net${request.path ?? '/'}`,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: { string: request.body } }),
        }),
        {},
      );
      results.push({
        status: answer.status,
        headers: answer.headers,
        body: Buffer.from(answer.body).toString('utf8'),
      });
    }
  }
  // The instance's own log lines share stdout: the results are the line that starts with RESULTS.
  process.stdout.write(`\nRESULTS ${JSON.stringify(results)}\n`);
  // The instance's scoring server holds the event loop open, as a warm instance would.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
