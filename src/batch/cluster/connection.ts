/**
 * How the cluster engine reaches Redis: BullMQ's own adapter for Bun's Redis client, driven by
 * berth's small RESP connection (see redis-connection.ts for why). Every connection carries a
 * client name that starts with the queue prefix, so `CLIENT LIST` shows whose it is.
 */
import { createBunRedisClient, type RedisClient } from 'bullmq';
import type { RedisEndpoint } from './config.js';
import { RedisConnection } from './redis-connection.js';

/**
 * The adapter reports a dropped connection as an `error` event and then reconnects by itself; the
 * BullMQ objects above it surface the drop through their own `error` events. A client nobody
 * listens to (the duplicates BullMQ makes for blocking reads) would turn that event into an
 * uncaught exception, so every client, duplicates included, gets a listener.
 */
function listened(client: RedisClient): RedisClient {
  client.on('error', () => undefined);
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (...args: unknown[]) => listened(duplicate(...args));
  return client;
}

/** A BullMQ-ready client; the caller owns it (BullMQ treats a passed-in client as shared) and closes it. */
export function createBullClient(endpoint: RedisEndpoint, clientName: string): RedisClient {
  return listened(createBunRedisClient(new RedisConnection(endpoint, { clientName })));
}

/** A plain connection for berth's own keys (artifact chunks), connected. */
export async function openRedis(endpoint: RedisEndpoint, clientName: string): Promise<RedisConnection> {
  const connection = new RedisConnection(endpoint, { clientName });
  await connection.connect();
  return connection;
}

/** Closes a BullMQ client and waits for it; errors from an already-dropped connection are moot. */
export async function closeBullClient(client: RedisClient): Promise<void> {
  await client.quit().catch(() => undefined);
}
