/**
 * The gateway's routes: `/endpoints/{endpoint}/score`, `/endpoints/{endpoint}/swagger.json` and
 * `/endpoints/{endpoint}/v2/...`, each forwarded to the same path (and query) on a replica. A path
 * the gateway does not serve throws NOT_FOUND naming the routes it does.
 *
 * The forwarded path is confined: a replica also serves routes that are not the endpoint's
 * (`/metrics`, `/berth/status`), and a URL parser on the way (the proxy's `new URL()`, the
 * replica's router) would resolve `v2/../metrics` or `v2/%2e%2e/metrics` to them. So every segment
 * must decode cleanly (BAD_INPUT otherwise) and none may be empty, `.` or `..`, or hold a slash, a
 * backslash or a control character once decoded; and the path a URL parser makes of the result
 * must be the path that was checked.
 */
import { BerthError } from '../core/errors.js';

export interface GatewayRoute {
  endpoint: string;
  /** Path and query on the replica, e.g. `/score` or `/v2/models/linear/infer?x=1`. */
  upstreamPath: string;
  /** The route family, which decides the error body's key (`message` or `error`). */
  family: 'azure' | 'v2';
}

const routes =
  'POST /endpoints/{endpoint}/score, GET /endpoints/{endpoint}/swagger.json, /endpoints/{endpoint}/v2/...';

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BerthError('BAD_INPUT', `the ${what} has malformed percent-encoding: ${JSON.stringify(text)}`);
  }
}

// eslint-disable-next-line no-control-regex
const forbidden = /[/\\\u0000-\u001f\u007f]/;

function checkSegment(raw: string, path: string): void {
  const decoded = decode(raw, 'path');
  if (
    decoded === '' ||
    decoded === '.' ||
    decoded === '..' ||
    forbidden.test(decoded) ||
    raw.includes('\\')
  ) {
    throw new BerthError(
      'BAD_INPUT',
      `the path ${JSON.stringify(path)} has a segment the gateway does not forward (${JSON.stringify(raw)}): empty, "." and ".." segments, slashes, backslashes and control characters are refused`,
    );
  }
}

/** The path a URL parser makes of `path` must be `path` itself: nothing was resolved away. */
function confined(path: string): boolean {
  return new URL(path, 'http://replica.invalid').pathname === path;
}

/** The family a request target belongs to, known even when the target is refused. */
export function routeFamily(url: string): GatewayRoute['family'] {
  return /^\/endpoints\/[^/?]*\/v2(?:[/?]|$)/.test(url) ? 'v2' : 'azure';
}

export function matchRoute(url: string): GatewayRoute {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
  decode(query.replaceAll('+', ' '), 'query string');
  if (path.includes('#') || query.includes('#'))
    throw new BerthError('BAD_INPUT', `the request target ${JSON.stringify(url)} holds a "#"`);
  const parts = path.split('/');
  // ['', 'endpoints', '{endpoint}', ...rest]
  const endpoint = parts[2];
  const rest = parts.slice(3);
  if (
    parts[0] === '' &&
    parts[1] === 'endpoints' &&
    endpoint !== undefined &&
    endpoint !== '' &&
    rest.length > 0
  ) {
    for (const segment of parts.slice(2)) checkSegment(segment, path);
    const name = decode(endpoint, 'endpoint name');
    let route: GatewayRoute | undefined;
    if (rest.length === 1 && (rest[0] === 'score' || rest[0] === 'swagger.json')) {
      route = { endpoint: name, upstreamPath: `/${rest[0]}`, family: 'azure' };
    } else if (rest[0] === 'v2') {
      route = { endpoint: name, upstreamPath: `/${rest.join('/')}`, family: 'v2' };
    }
    if (route !== undefined) {
      if (!confined(route.upstreamPath))
        throw new BerthError(
          'BAD_INPUT',
          `the path ${JSON.stringify(path)} does not stay inside the endpoint`,
        );
      return { ...route, upstreamPath: route.upstreamPath + query };
    }
  }
  throw new BerthError('NOT_FOUND', `no route for ${path}: the gateway serves ${routes}`);
}
