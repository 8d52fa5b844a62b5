/**
 * The generic handler: a `Request → Response` function for any fetch-style runtime (an
 * `export default { fetch }` module, or `handle(request)` called by hand). The request's path and
 * query choose the route, as on the scoring server.
 */
import { invokeFetchLike, startInstance } from './instance.js';

export async function handle(request: Request): Promise<Response> {
  const answer = await invokeFetchLike(request);
  const empty = answer.status === 204 || answer.status === 304 || request.method === 'HEAD';
  return new Response(empty ? null : answer.body, { status: answer.status, headers: answer.headers });
}

/** Starts the instance's scoring server ahead of the first request (a runtime's init phase). */
export const warm = (): Promise<void> => startInstance().then(() => undefined);

export default { fetch: handle };
