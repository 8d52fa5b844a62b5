/**
 * One HTTP probe: GET a path with a timeout, on a fresh connection (so a probe never holds a
 * keep-alive socket open against a server that is draining). undefined means it passed; a string
 * says why it failed. Every target's replicas probe the same way.
 */
import { request } from 'node:http';
import { BerthError } from '../../core/errors.js';

export function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request(url, { method: 'GET', agent: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      settle(status >= 200 && status < 400 ? undefined : `GET ${new URL(url).pathname} answered ${status}`);
    });
    const timer = setTimeout(
      () => settle(`GET ${new URL(url).pathname} timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    req.on('error', (error) => settle(`GET ${new URL(url).pathname} failed: ${error.message}`));
    req.end();
  });
}

/** A replica whose readiness probe did not pass within its start timeout, with the last failure. */
export function notReadyWithin(replica: string, timeoutMs: number, failure: string | undefined): BerthError {
  return new BerthError(
    'NOT_READY',
    `replica ${replica} was not ready within ${timeoutMs} ms (${failure ?? 'readiness probe'})`,
  );
}
