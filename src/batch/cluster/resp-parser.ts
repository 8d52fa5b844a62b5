/**
 * An incremental RESP2 reply parser: bytes go in as the socket delivers them, whole replies come
 * out. Error replies become `RedisReplyError` values (not throws) so an EXEC array can carry one
 * per command, as BullMQ's transaction code expects.
 */

export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisReplyError';
  }
}

/** Returned by `next` while the buffered bytes do not yet hold a whole reply. */
export const incomplete: unique symbol = Symbol('incomplete');

const crlf = Buffer.from('\r\n');

export class RespParser {
  #buffer: Buffer = Buffer.alloc(0);
  #offset = 0;
  /** Bytes needed before the pending reply can possibly be whole: skips re-parsing a long bulk. */
  #needed = 0;

  push(chunk: Buffer): void {
    const rest = this.#buffer.length - this.#offset;
    this.#buffer = rest > 0 ? Buffer.concat([this.#buffer.subarray(this.#offset), chunk]) : chunk;
    this.#offset = 0;
  }

  /** The next whole reply (bulk strings as Buffers when `buffers`, else UTF-8 strings), or `incomplete`. */
  next(buffers: boolean): unknown {
    if (this.#buffer.length - this.#offset < this.#needed) return incomplete;
    const start = this.#offset;
    this.#needed = 0;
    const reply = this.#parse(buffers);
    if (reply === incomplete) {
      this.#needed = Math.max(this.#needed - start, 0);
      this.#offset = start;
    }
    return reply;
  }

  reset(): void {
    this.#buffer = Buffer.alloc(0);
    this.#offset = 0;
    this.#needed = 0;
  }

  #parse(buffers: boolean): unknown {
    const buffer = this.#buffer;
    if (this.#offset >= buffer.length) return incomplete;
    const lineEnd = buffer.indexOf(crlf, this.#offset + 1);
    if (lineEnd < 0) return incomplete;
    const type = buffer[this.#offset];
    const line = buffer.toString('utf8', this.#offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case 0x2b /* + */:
        this.#offset = next;
        return line;
      case 0x2d /* - */:
        this.#offset = next;
        return new RedisReplyError(line);
      case 0x3a /* : */:
        this.#offset = next;
        return Number(line);
      case 0x24 /* $ */: {
        const length = Number(line);
        if (length < 0) {
          this.#offset = next;
          return null;
        }
        const end = next + length;
        if (end + 2 > buffer.length) {
          this.#needed = end + 2;
          return incomplete;
        }
        this.#offset = end + 2;
        // A copy, so a reply kept by the caller does not pin the whole socket buffer.
        return buffers ? Buffer.from(buffer.subarray(next, end)) : buffer.toString('utf8', next, end);
      }
      case 0x2a /* * */: {
        const count = Number(line);
        this.#offset = next;
        if (count < 0) return null;
        const items: unknown[] = [];
        for (let index = 0; index < count; index += 1) {
          const item = this.#parse(buffers);
          if (item === incomplete) return incomplete;
          items.push(item);
        }
        return items;
      }
      default:
        throw new RedisReplyError(`unexpected RESP type byte ${String(type)}: the stream is out of sync`);
    }
  }
}

function argumentText(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'number' || typeof arg === 'bigint' || typeof arg === 'boolean') return String(arg);
  if (arg === undefined || arg === null) return '';
  // No Redis command argument is an object; JSON at least keeps it readable in MONITOR.
  return JSON.stringify(arg);
}

/** Encodes one command as a RESP array of bulk strings; Buffers are kept as separate parts (no copy). */
export function encodeCommand(command: string, args: readonly unknown[]): (string | Buffer)[] {
  const parts: (string | Buffer)[] = [];
  let text = `*${args.length + 1}\r\n$${Buffer.byteLength(command)}\r\n${command}\r\n`;
  for (const arg of args) {
    if (Buffer.isBuffer(arg)) {
      parts.push(`${text}$${arg.length}\r\n`, arg);
      text = '\r\n';
      continue;
    }
    const value = argumentText(arg);
    text += `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
  }
  parts.push(text);
  return parts;
}
