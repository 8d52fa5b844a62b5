/**
 * The cluster target's settings: its Redis address, `cluster:redis://[user:password@]host[:port][/db]`
 * (the `cluster:` prefix is optional where the context already says "cluster", as in
 * `berth worker --cluster`), and the queue prefix its submitters and workers share. A named
 * cluster target (`berth target create NAME --type cluster --redis … --queue-prefix …`) is
 * `clusterTargetConfigSchema`, one member of the targets' config union. Parsed once here with zod,
 * so the rest of the engine only sees a resolved endpoint.
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { nameSchema } from '../../core/names.js';
import { defaultQueuePrefix } from './names.js';

export interface RedisEndpoint {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  /** The address without credentials, for logs and messages. */
  display: string;
}

const hostSchema = z
  .string()
  .min(1, 'the host is missing')
  .regex(/^[A-Za-z0-9.\-_[\]:]+$/, 'the host has characters a host name cannot have');

const endpointSchema = z.object({
  host: hostSchema,
  port: z.number().int().min(1).max(65535, 'the port must be 1-65535'),
  db: z.number().int().min(0).max(15, 'the database must be 0-15'),
});

function fail(text: string, why: string): never {
  throw new BerthError(
    'BAD_INPUT',
    `invalid cluster address ${JSON.stringify(text)}: ${why} (expected cluster:redis://host:port[/db])`,
  );
}

/** Parses `cluster:redis://host:port[/db]` or `redis://host:port[/db]`; BAD_INPUT names what is wrong. */
export function parseClusterAddress(text: string): RedisEndpoint {
  const trimmed = text.trim();
  const withoutKind = trimmed.startsWith('cluster:') ? trimmed.slice('cluster:'.length) : trimmed;
  if (!withoutKind.startsWith('redis://')) {
    if (withoutKind.startsWith('rediss://')) fail(text, 'TLS (rediss://) is not supported yet');
    fail(text, 'it must start with redis://');
  }
  let url: URL;
  try {
    url = new URL(withoutKind);
  } catch {
    fail(text, 'it is not a URL');
  }
  if (url.search !== '' || url.hash !== '') fail(text, 'query strings and fragments are not supported');
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^[0-9]{1,2}$/.test(path))
    fail(text, `the database ${JSON.stringify(path)} is not a number`);
  const parsed = endpointSchema.safeParse({
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db: path === '' ? 0 : Number(path),
  });
  if (!parsed.success) fail(text, parsed.error.issues.map((issue) => issue.message).join('; '));
  const { host, port, db } = parsed.data;
  return {
    host: host.startsWith('[') ? host.slice(1, -1) : host,
    port,
    db,
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    display: `redis://${host}:${port}/${db}`,
  };
}

/** True for a `--target` value that names the cluster engine. */
export function isClusterTarget(text: string): boolean {
  return text.startsWith('cluster:');
}

/** The address without its password, for listings and messages. */
export function redactClusterAddress(text: string): string {
  return text.replace(/^((?:cluster:)?redis:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** Redis key prefixes: no spaces (they also start the connections' client names), at most 64 characters. */
export const queuePrefixSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/,
    'expected 1-64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
  );

export const clusterTargetConfigSchema = z.strictObject({
  kind: z.literal('cluster'),
  /** The target's name in messages. Default 'cluster'. */
  name: nameSchema.default('cluster'),
  /** The Redis the queue lives on: `redis://[user:password@]host[:port][/db]`. Required. */
  redis: z
    .string({ error: 'expected the Redis address, redis://host:port[/db]' })
    .superRefine((text, context) => {
      try {
        parseClusterAddress(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  /** Prefix of every Redis key of this target's jobs and workers; workers must use the same. Default `berth`. */
  queuePrefix: queuePrefixSchema.default(defaultQueuePrefix),
});

export type ClusterTargetConfig = z.input<typeof clusterTargetConfigSchema>;
export type ResolvedClusterTargetConfig = z.output<typeof clusterTargetConfigSchema>;
