/**
 * A small method + path router for the control-plane API: patterns like
 * `/api/endpoints/:name/deployments/:deployment`, parameters decoded and checked to be names by
 * the handlers. An unknown path is NOT_FOUND, a known path with another method METHOD_NOT_ALLOWED.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError } from '../../core/errors.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteContext {
  request: IncomingMessage;
  response: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

/** What a handler returns: a JSON body (status 200 unless given), or `undefined` when it wrote the response itself. */
export type RouteResult = { status?: number; body: unknown } | undefined;
export type Handler = (context: RouteContext) => Promise<RouteResult>;

interface Route {
  method: Method;
  parts: string[];
  handler: Handler;
}

export class Router {
  readonly #routes: Route[] = [];

  add(method: Method, pattern: string, handler: Handler): this {
    this.#routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } {
    const segments = path.split('/').filter(Boolean);
    let pathKnown = false;
    for (const route of this.#routes) {
      const params = matchParts(route.parts, segments);
      if (params === undefined) continue;
      pathKnown = true;
      if (route.method === method) return { handler: route.handler, params };
    }
    if (pathKnown) throw new BerthError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`);
    throw new BerthError('NOT_FOUND', `no route ${method} ${path}`);
  }
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index] ?? '';
    if (part.startsWith(':')) {
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
    } else if (part !== segment) return undefined;
  }
  return params;
}
