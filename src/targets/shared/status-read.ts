/**
 * One read of a replica's `GET /berth/status` (with its replica token), parsed with the caller's
 * schema for the part it needs: the replica's reasons (replica-events.ts) and the autoscaler's load
 * readings both come from it. Undefined when the replica does not answer in time, answers badly,
 * or lacks the part: a reading that cannot be trusted is no reading.
 */
import { request } from 'node:http';
import type { z } from 'zod';
import { REPLICA_TOKEN_HEADER } from '../../scoring/auth.js';

export function readStatusPart<Schema extends z.ZodType>(
  url: string,
  token: string | undefined,
  timeoutMs: number,
  schema: Schema,
): Promise<z.output<Schema> | undefined> {
  return new Promise((resolve) => {
    const headers = token === undefined ? {} : { [REPLICA_TOKEN_HEADER]: token };
    const req = request(`${url}/berth/status`, { method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        try {
          const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          resolve(parsed.success ? parsed.data : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, timeoutMs);
    req.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    req.end();
  });
}
