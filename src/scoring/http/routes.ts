/**
 * The route table: a switch on the path for fixed routes and a split for the ones that name a
 * model, with no regular expressions on the hot path. A route knows its method, its metrics label
 * (a template, never the raw path), its error format and whether it is open without a key.
 */
import { BerthError } from '../../core/errors.js';

export type RouteId =
  | 'health'
  | 'score'
  | 'swagger'
  | 'metrics'
  | 'berth-status'
  | 'v2-server'
  | 'v2-live'
  | 'v2-ready'
  | 'v2-stats-all'
  | 'v2-model'
  | 'v2-model-ready'
  | 'v2-infer'
  | 'v2-config'
  | 'v2-stats'
  | 'v2-repo-index'
  | 'v2-repo-load'
  | 'v2-repo-unload';

export interface Route {
  id: RouteId;
  method: 'GET' | 'POST';
  /** The metrics and log label. */
  label: string;
  /** Error body shape: Azure's `{"message"}` or v2's `{"error"}`. */
  family: 'azure' | 'v2';
  /** Served without an API key. */
  open: boolean;
}

function route(id: RouteId, method: 'GET' | 'POST', label: string, open = false): Route {
  return { id, method, label, family: label.startsWith('/v2') ? 'v2' : 'azure', open };
}

export const routes = {
  health: route('health', 'GET', '/', true),
  score: route('score', 'POST', '/score'),
  swagger: route('swagger', 'GET', '/swagger.json'),
  metrics: route('metrics', 'GET', '/metrics'),
  berthStatus: route('berth-status', 'GET', '/berth/status'),
  v2Server: route('v2-server', 'GET', '/v2'),
  v2Live: route('v2-live', 'GET', '/v2/health/live', true),
  v2Ready: route('v2-ready', 'GET', '/v2/health/ready', true),
  v2StatsAll: route('v2-stats-all', 'GET', '/v2/models/stats'),
  v2Model: route('v2-model', 'GET', '/v2/models/:model'),
  v2ModelReady: route('v2-model-ready', 'GET', '/v2/models/:model/ready'),
  v2Infer: route('v2-infer', 'POST', '/v2/models/:model/infer'),
  v2Config: route('v2-config', 'GET', '/v2/models/:model/config'),
  v2Stats: route('v2-stats', 'GET', '/v2/models/:model/stats'),
  v2RepoIndex: route('v2-repo-index', 'POST', '/v2/repository/index'),
  v2RepoLoad: route('v2-repo-load', 'POST', '/v2/repository/models/:model/load'),
  v2RepoUnload: route('v2-repo-unload', 'POST', '/v2/repository/models/:model/unload'),
} as const;

/** The label for requests that match no route. */
export const unknownRoute: Route = {
  id: 'health',
  method: 'GET',
  label: 'unmatched',
  family: 'azure',
  open: true,
};
export const unknownV2Route: Route = { ...unknownRoute, family: 'v2' };

export interface RouteMatch {
  route: Route;
  model: string | undefined;
  version: string | undefined;
}

function segment(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BerthError(
      'BAD_INPUT',
      `the path segment ${JSON.stringify(text)} is not valid percent-encoding`,
    );
  }
}

const modelActions: Record<string, Route> = {
  '': routes.v2Model,
  ready: routes.v2ModelReady,
  infer: routes.v2Infer,
  config: routes.v2Config,
  stats: routes.v2Stats,
};

/** `/v2/models/{m}[/versions/{v}][/action]` → the match, or undefined. */
function matchModel(rest: string): RouteMatch | undefined {
  const parts = rest.split('/');
  const [name, ...tail] = parts;
  if (name === undefined || name === '') return undefined;
  let version: string | undefined;
  let action = '';
  if (tail[0] === 'versions') {
    if (tail[1] === undefined || tail[1] === '' || tail.length > 3) return undefined;
    version = segment(tail[1]);
    action = tail[2] ?? '';
  } else {
    if (tail.length > 1) return undefined;
    action = tail[0] ?? '';
  }
  const found = modelActions[action];
  if (found === undefined || !Object.hasOwn(modelActions, action)) return undefined;
  return { route: found, model: segment(name), version };
}

function matchRepository(rest: string): RouteMatch | undefined {
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const action = rest.slice(slash + 1);
  const found = action === 'load' ? routes.v2RepoLoad : action === 'unload' ? routes.v2RepoUnload : undefined;
  return found && { route: found, model: segment(rest.slice(0, slash)), version: undefined };
}

const plain = (found: Route): RouteMatch => ({ route: found, model: undefined, version: undefined });
const fixed = {
  '/': plain(routes.health),
  '/score': plain(routes.score),
  '/swagger.json': plain(routes.swagger),
  '/metrics': plain(routes.metrics),
  '/berth/status': plain(routes.berthStatus),
  '/v2': plain(routes.v2Server),
  '/v2/health/live': plain(routes.v2Live),
  '/v2/health/ready': plain(routes.v2Ready),
  '/v2/models/stats': plain(routes.v2StatsAll),
  '/v2/repository/index': plain(routes.v2RepoIndex),
};

/**
 * Model routes matched so far, by path: a client repeats the same few paths, and a match is never
 * modified, so it is shared. Bounded: cleared when it fills. Paths that fail to match or to decode
 * are not kept.
 */
const modelMatches = new Map<string, RouteMatch>();

function matchModelPath(path: string): RouteMatch | undefined {
  let found = modelMatches.get(path);
  if (found === undefined) {
    found = matchModel(path.slice('/v2/models/'.length));
    if (found === undefined) return undefined;
    if (modelMatches.size >= 256) modelMatches.clear();
    modelMatches.set(path, found);
  }
  return found;
}

/** The route for a path (query already removed), or undefined. */
export function matchRoute(path: string): RouteMatch | undefined {
  switch (path) {
    case '/':
    case '/score':
    case '/swagger.json':
    case '/metrics':
    case '/berth/status':
    case '/v2':
    case '/v2/health/live':
    case '/v2/health/ready':
    case '/v2/models/stats':
    case '/v2/repository/index':
      return fixed[path];
    default:
      if (path.startsWith('/v2/models/')) return matchModelPath(path);
      if (path.startsWith('/v2/repository/models/'))
        return matchRepository(path.slice('/v2/repository/models/'.length));
      return undefined;
  }
}
