/**
 * How the cluster engine reaches Redis: ioredis, the client BullMQ is built around. Every
 * connection carries a client name that starts with the queue prefix, so `CLIENT LIST` shows whose
 * it is (and the tests can drop them by name). ioredis sets the name again on every reconnect.
 *
 * Clients are created unconnected (`lazyConnect`): `connectNow` opens one when a caller must know
 * at once whether Redis is there; BullMQ connects the duplicates it makes; a plain client connects
 * on its first command. After that, ioredis reconnects by itself, forever, until `closeRedis`.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisEndpoint } from './config.js';

/**
 * What a connection is for decides how its commands wait out a dropped connection:
 * - `blocking`: Workers and the event reader (and the duplicates BullMQ makes for its blocking
 *   reads). BullMQ requires `maxRetriesPerRequest: null`: commands wait for the reconnect, so a
 *   worker's lock renewals and a blocking read survive a network blip.
 * - `producer`: the submitter's Queue. Commands fail at once while Redis is away
 *   (`enableOfflineQueue: false`, BullMQ's "failing fast" pattern): the engine retries its own
 *   enqueue within a deadline and its poll retries reads, and neither may hang forever.
 * - `plain`: berth's own keys (artifact chunks). Commands wait through a bounded number of
 *   reconnects (ioredis's `maxRetriesPerRequest`, 20), then fail.
 */
export type ConnectionRole = 'blocking' | 'producer' | 'plain';

const roleOptions: Record<ConnectionRole, RedisOptions> = {
  blocking: { maxRetriesPerRequest: null },
  producer: { enableOfflineQueue: false },
  plain: {},
};

/** 100 ms after a drop, doubling, never more than 2 s apart: a blip costs little, an outage no storm. */
function retryDelay(times: number): number {
  return Math.min(100 * 2 ** (times - 1), 2000);
}

/** An unconnected client for `role`; the caller owns it and closes it with `closeRedis`. */
export function createRedis(endpoint: RedisEndpoint, clientName: string, role: ConnectionRole): Redis {
  const client = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    db: endpoint.db,
    username: endpoint.username,
    password: endpoint.password,
    connectionName: clientName,
    lazyConnect: true,
    retryStrategy: retryDelay,
    ...roleOptions[role],
  });
  // ioredis reports each failed reconnect as an `error` event, and prints the ones nobody listens
  // to. The drop surfaces where it matters (BullMQ's own `error` events, failed commands), so the
  // client's own report is dropped here. BullMQ's duplicates get BullMQ's listener.
  client.on('error', () => undefined);
  return client;
}

/**
 * Connects now and rejects if Redis cannot be reached, instead of leaving ioredis to retry in the
 * background (where a caller waiting for "ready" would wait forever).
 */
export async function connectNow(client: Redis): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    // The failed connect has scheduled a retry; this stops it.
    client.disconnect();
    throw error;
  }
}

/** Closes a client whatever its state; a polite QUIT when connected, errors from a dropped one are moot. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  client.disconnect();
}

/** Deletes every key under `prefix` (a queue's, or a test's), a thousand keys per round trip. */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}
