/**
 * How the replica token travels from a target to the request that reaches the replica. A replica
 * reports its token beside its URL; the balancer hands out the URL with the token as its password
 * (`http://replica:<token>@127.0.0.1:41234`), so every path that sends to a replica (the proxy,
 * the mirror) carries it without the gateway's routing knowing about it. Before sending, the
 * credentials come off the URL and the token goes into `x-berth-replica-token`: it never reaches
 * a log, a status view or an `Authorization` header.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { REPLICA_TOKEN_HEADER } from '../core/replica-token.js';

const userName = 'replica';

/** The URL the balancer hands out: `url` with the token as its password (unchanged without one). */
export function withReplicaToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  // On every request: a string splice, not a URL parse (replica URLs are `scheme://host:port`).
  const at = url.indexOf('://');
  if (at === -1) return url;
  return `${url.slice(0, at + 3)}${userName}:${encodeURIComponent(token)}@${url.slice(at + 3)}`;
}

/**
 * The URL to send `path` to, without credentials, and the header carrying the token; `headers`
 * gets the header (or loses a client's copy of it, which must not reach a replica).
 */
export function replicaTarget(base: string, path: string, headers: OutgoingHttpHeaders): URL {
  const target = new URL(path, base);
  delete headers[REPLICA_TOKEN_HEADER];
  if (target.password !== '') headers[REPLICA_TOKEN_HEADER] = decodeURIComponent(target.password);
  target.username = '';
  target.password = '';
  return target;
}
