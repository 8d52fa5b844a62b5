/**
 * The gateway's routes: `/endpoints/{endpoint}/score`, `/endpoints/{endpoint}/swagger.json` and
 * `/endpoints/{endpoint}/v2/...`, each forwarded to the same path (and query) on a replica. A path
 * the gateway does not serve throws NOT_FOUND naming the routes it does.
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

export function matchRoute(url: string): GatewayRoute {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? '' : url.slice(queryAt);
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
    const name = decodeURIComponent(endpoint);
    if (rest.length === 1 && (rest[0] === 'score' || rest[0] === 'swagger.json')) {
      return { endpoint: name, upstreamPath: `/${rest[0]}${query}`, family: 'azure' };
    }
    if (rest[0] === 'v2') return { endpoint: name, upstreamPath: `/${rest.join('/')}${query}`, family: 'v2' };
  }
  throw new BerthError('NOT_FOUND', `no route for ${path}: the gateway serves ${routes}`);
}
