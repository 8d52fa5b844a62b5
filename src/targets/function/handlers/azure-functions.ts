/**
 * The Azure Functions handler for the v4 Node.js programming model's HTTP trigger: it takes the
 * `HttpRequest` that `@azure/functions` hands a handler registered with `app.http(…)` (fetch-like:
 * `method`, `url`, `headers`, `arrayBuffer()`) and returns an `HttpResponseInit`
 * (`{status, headers, body}`). The package registers it on the route `{*path}` with the host's
 * route prefix removed, so `/score` and `/v2/…` are the server's own paths.
 */
import { invokeFetchLike, startInstance, type FetchLikeRequest } from './instance.js';

/** What the handler reads of `@azure/functions`' HttpRequest. */
export type AzureHttpRequest = FetchLikeRequest;

export interface AzureHttpResponseInit {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export async function handler(request: AzureHttpRequest): Promise<AzureHttpResponseInit> {
  const answer = await invokeFetchLike(request);
  return { status: answer.status, headers: answer.headers, body: new Uint8Array(answer.body) };
}

/** Starts the instance's scoring server ahead of the first request. */
export const warm = (): Promise<void> => startInstance().then(() => undefined);
