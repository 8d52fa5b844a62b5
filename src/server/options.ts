/**
 * `berth server` options, resolved once: defaults filled, the loopback rule checked. Off loopback
 * the API and the gateway are reachable by other machines, so the server refuses to bind there
 * unless the operator chose the token (a random one would be unknown to every remote client).
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../core/errors.js';

const port = z.number().int().min(0).max(65535);

export const serverOptionsSchema = z.strictObject({
  /** The workspace folder. Required. */
  workspaceDir: z.string().min(1),
  /** Interface of the API and the gateway. Default 127.0.0.1. */
  host: z.string().min(1).default('127.0.0.1'),
  /** API port; 0 picks a free one. Default 0. */
  port: port.default(0),
  /** Gateway port; 0 picks a free one. Default: the port the previous server used, else 0. */
  gatewayPort: port.optional(),
  /** Bearer token of the API. Default: 32 random bytes. Required off loopback. */
  token: z.string().min(16).optional(),
});

export type ServerOptions = z.input<typeof serverOptionsSchema>;

export interface ResolvedServerOptions {
  workspaceDir: string;
  host: string;
  port: number;
  gatewayPort: number | undefined;
  token: string;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function resolveServerOptions(input: ServerOptions): ResolvedServerOptions {
  const parsed = serverOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BerthError('BAD_INPUT', `server options: ${issues.join('; ')}`);
  }
  const options = parsed.data;
  if (!isLoopback(options.host) && options.token === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      `refusing to bind the control plane to ${options.host} without a token: pass --token (or BERTH_SERVER_TOKEN), or bind to 127.0.0.1`,
    );
  }
  return {
    workspaceDir: resolve(options.workspaceDir),
    host: options.host,
    port: options.port,
    gatewayPort: options.gatewayPort,
    token: options.token ?? randomBytes(32).toString('base64url'),
  };
}
