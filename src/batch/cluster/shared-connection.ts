import type { RedisEndpoint } from './config.js';
import { openRedis } from './connection.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * A plain Redis connection shared by concurrent callers and reopened after a drop (a
 * RedisConnection is single-use by design). Callers share one opening, so none is leaked.
 */
export class SharedConnection {
  #current: Promise<RedisConnection> | undefined;
  #closed = false;

  constructor(
    private readonly endpoint: RedisEndpoint,
    private readonly name: string,
  ) {}

  async get(): Promise<RedisConnection> {
    const current = this.#current;
    if (current !== undefined) {
      const connection = await current.catch(() => undefined);
      if (connection?.connected) return connection;
      if (this.#current !== current) return this.get();
    }
    if (this.#closed) throw new Error('Connection closed');
    const opening = openRedis(this.endpoint, this.name);
    this.#current = opening;
    return opening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = await this.#current?.catch(() => undefined);
    connection?.close();
  }
}
