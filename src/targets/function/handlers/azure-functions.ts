/**
 * The Azure Functions handler for the v4 Node.js programming model's HTTP trigger: it takes the
 * `HttpRequest` that `@azure/functions` hands a handler registered with `app.http(…)` (fetch-like:
 * `method`, `url`, `headers`, `arrayBuffer()`) and returns an `HttpResponseInit`
 * (`{status, headers, body}`). The package registers it on the route `{*path}` with the host's
 * route prefix removed, so `/score` and `/v2/…` are the server's own paths.
 */
import { invoke, startInstance } from './instance.js';

/** What the handler reads of `@azure/functions`' HttpRequest. */
export interface AzureHttpRequest {
  method: string;
  url: string;
  headers: { forEach(callback: (value: string, name: string) => void): void };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface AzureHttpResponseInit {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export async function handler(request: AzureHttpRequest): Promise<AzureHttpResponseInit> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
  const body =
    request.method === 'GET' || request.method === 'HEAD'
      ? Buffer.alloc(0)
      : Buffer.from(await request.arrayBuffer());
  const answer = await invoke({
    method: request.method,
    path: `${url.pathname}${url.search}`,
    headers,
    body,
  });
  return { status: answer.status, headers: answer.headers, body: new Uint8Array(answer.body) };
}

/** Starts the instance's scoring server ahead of the first request. */
export const warm = (): Promise<void> => startInstance().then(() => undefined);
