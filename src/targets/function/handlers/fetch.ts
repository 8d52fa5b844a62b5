/**
 * The generic handler: a `Request → Response` function for any fetch-style runtime (an
 * `export default { fetch }` module, or `handle(request)` called by hand). The request's path and
 * query choose the route, as on the scoring server.
 */
import { invoke, startInstance } from './instance.js';

export async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name] = value));
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
  const empty = answer.status === 204 || answer.status === 304 || request.method === 'HEAD';
  return new Response(empty ? null : answer.body, { status: answer.status, headers: answer.headers });
}

/** Starts the instance's scoring server ahead of the first request (a runtime's init phase). */
export const warm = (): Promise<void> => startInstance().then(() => undefined);

export default { fetch: handle };
