/**
 * One Redis connection over a TCP socket, speaking RESP2.
 *
 * Why this exists: BullMQ 6 made its Redis driver an optional peer dependency and berth does not
 * install one (`ioredis` is not in package.json). BullMQ ships an adapter for Bun's built-in
 * `RedisClient`, whose raw surface is small: `send(command, args)`, `connect()`, `close()`,
 * `duplicate()`, `connected` and the `onconnect`/`onclose` callbacks. This class provides exactly
 * that surface, so BullMQ's own, tested adapter (`createBunRedisClient`) does the mapping of every
 * BullMQ command, script loading (EVALSHA with EVAL fallback), MULTI/EXEC and reconnection with
 * backoff. What stays here is framing only. When `ioredis` is added, connection.ts is the one file
 * to change.
 *
 * A connection is single-use: once closed (by us or by the server) it stays closed, and the
 * adapter reconnects by calling `duplicate()` and `connect()` on the copy, like Bun's client.
 */
import { createConnection, type Socket } from 'node:net';
import type { RedisEndpoint } from './config.js';
import { encodeCommand, incomplete, RedisReplyError, RespParser } from './resp-parser.js';

export interface RedisConnectionOptions {
  /** CLIENT SETNAME on every connect, so an operator (or a test) can find the connection. Default: none. */
  clientName?: string;
  /** Default: 10 s. */
  connectTimeoutMs?: number;
}

interface PendingReply {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  buffers: boolean;
}

/** The message BullMQ's Bun adapter recognises as "the connection is gone" (it then reconnects). */
const closedMessage = 'Connection closed';

export class RedisConnection {
  connected = false;
  onconnect: (() => void) | undefined;
  onclose: ((error?: Error) => void) | undefined;
  onerror: ((error: Error) => void) | undefined;

  #socket: Socket | undefined;
  #state: 'new' | 'connecting' | 'open' | 'closed' = 'new';
  readonly #parser = new RespParser();
  readonly #pending: PendingReply[] = [];
  #head = 0;

  constructor(
    readonly endpoint: RedisEndpoint,
    readonly options: RedisConnectionOptions = {},
  ) {}

  /** Opens the socket, authenticates, selects the database, names the client; then `onconnect`. */
  async connect(): Promise<void> {
    if (this.#state !== 'new') {
      if (this.#state === 'open') return;
      throw new Error(`${closedMessage}: a Redis connection is single-use, duplicate() it`);
    }
    this.#state = 'connecting';
    const socket = await this.#open();
    this.#socket = socket;
    try {
      const { username, password, db } = this.endpoint;
      if (password !== undefined) {
        await this.#call('AUTH', username === undefined ? [password] : [username, password], false);
      }
      if (db !== 0) await this.#call('SELECT', [db], false);
      if (this.options.clientName !== undefined) {
        await this.#call('CLIENT', ['SETNAME', this.options.clientName], false);
      }
    } catch (error) {
      socket.destroy();
      throw error;
    }
    this.#state = 'open';
    this.connected = true;
    this.onconnect?.();
  }

  #open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.endpoint.host, port: this.endpoint.port });
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      socket.setTimeout(this.options.connectTimeoutMs ?? 10_000, () => {
        socket.destroy(new Error(`connecting to ${this.endpoint.display} timed out`));
      });
      let lastError: Error | undefined;
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.on('error', (error) => {
        lastError = error;
      });
      socket.once('connect', () => {
        socket.setTimeout(0);
        resolve(socket);
      });
      socket.once('close', () => {
        const wasOpen = this.#state === 'open';
        this.#state = 'closed';
        this.connected = false;
        this.#failPending(new Error(`${closedMessage}${lastError ? `: ${lastError.message}` : ''}`));
        if (!wasOpen) {
          reject(
            lastError ??
              new Error(`${closedMessage} before the connection to ${this.endpoint.display} opened`),
          );
          return;
        }
        this.onclose?.(lastError ?? new Error(`${closedMessage} by the server`));
      });
    });
  }

  /** Sends one command; bulk replies come back as UTF-8 strings. */
  send<T = unknown>(command: string, args: readonly unknown[] = []): Promise<T> {
    // The reply's shape depends on the command; callers (BullMQ's adapter) know which they sent.
    return this.#guarded(command, args, false) as Promise<T>;
  }

  /** Sends one command; bulk replies come back as Buffers (artifact chunks). */
  sendForBuffers(command: string, args: readonly unknown[] = []): Promise<unknown> {
    return this.#guarded(command, args, true);
  }

  get(key: string): Promise<string | null> {
    return this.send<string | null>('GET', [key]);
  }

  smembers(key: string): Promise<unknown[]> {
    return this.send<unknown[]>('SMEMBERS', [key]);
  }

  incr(key: string): Promise<number> {
    return this.send<number>('INCR', [key]);
  }

  #guarded(command: string, args: readonly unknown[], buffers: boolean): Promise<unknown> {
    if (this.#state !== 'open') return Promise.reject(new Error(closedMessage));
    return this.#call(command, args, buffers);
  }

  #call(command: string, args: readonly unknown[], buffers: boolean): Promise<unknown> {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return Promise.reject(new Error(closedMessage));
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject, buffers });
      for (const part of encodeCommand(command, args)) socket.write(part);
    });
  }

  #onData(chunk: Buffer): void {
    this.#parser.push(chunk);
    for (;;) {
      const waiting = this.#pending[this.#head];
      if (waiting === undefined) return;
      let reply: unknown;
      try {
        reply = this.#parser.next(waiting.buffers);
      } catch (error) {
        // The byte stream is out of sync: nothing after this point can be trusted.
        this.#socket?.destroy(error as Error);
        return;
      }
      if (reply === incomplete) return;
      this.#shift();
      if (reply instanceof RedisReplyError) waiting.reject(reply);
      else waiting.resolve(reply);
    }
  }

  #shift(): void {
    this.#head += 1;
    // Compacts now and then instead of Array.shift() on every reply.
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #failPending(error: Error): void {
    const waiting = this.#pending.splice(this.#head);
    this.#pending.length = 0;
    this.#head = 0;
    this.#parser.reset();
    for (const reply of waiting) reply.reject(error);
  }

  /** Closes the socket now; replies still awaited are rejected with "Connection closed". */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.connected = false;
    this.#socket?.destroy();
  }

  /** A new, unconnected connection to the same server with the same options. */
  duplicate(): Promise<RedisConnection> {
    return Promise.resolve(new RedisConnection(this.endpoint, this.options));
  }
}
