/**
 * The framing of berth's Python worker protocol (python/berth_worker.py holds the other end). A
 * frame is a 4-byte big-endian length, then that many bytes: a 1-byte kind and its fields. Request
 * bodies and answers travel as the bytes they are (no JSON envelope around them, so no second
 * encoding, escaping or base64 on either side); control messages (ready, init-failed, error, log)
 * are JSON. All integers are big-endian; a string is its UTF-8 bytes after its length.
 *
 * berth → worker, after the kind byte and a u32 call id:
 *   RUN    u16 requestId | body
 *   RAW    u16 requestId | u32 meta (JSON {headers, method, path}) | body          (@rawhttp)
 *   BATCH  u16 requestId | JSON mini-batch                                      (batch drivers)
 *   RUNS   u16 requestId | u8 mode (0: run_batch(bodies), 1: run(body) each) | u32 count |
 *          (u16 requestId | u32 body)*
 *   SHUTDOWN (no call id)
 * worker → berth:
 *   RESULT  u32 id | u16 status | u8 binary | f64 execNs | u16 contentType | body
 *   RESULTS u32 id | f64 execNs | u32 count | items: u8 1 | u16 status | u8 binary | f64 execNs |
 *           u16 contentType | u32 body,  or  u8 0 | u16 code | u32 message
 *   JSON    a control message, checked with zod by the caller
 * A requestId of length 0 is none.
 */
import type { PythonAnswer, PythonFailure, ToPython } from './messages.js';

export const FRAME = {
  run: 1,
  raw: 2,
  batch: 3,
  runs: 4,
  shutdown: 5,
  result: 16,
  results: 17,
  json: 18,
} as const;

/** What the worker sends, decoded: results as they are, control messages as parsed JSON. */
export type DecodedFrame =
  | ({ type: 'result'; id: number } & PythonAnswer)
  | { type: 'results'; id: number; execNs: number; results: (PythonAnswer | PythonFailure)[] }
  | { type: 'json'; message: unknown };

type Call = Exclude<ToPython, { type: 'shutdown' }>;

/** The bytes of one message to the worker, length prefix included, built in one buffer. */
export function encodeToPython(message: ToPython): Buffer {
  if (message.type === 'shutdown') {
    const frame = Buffer.allocUnsafe(5);
    frame.writeUInt32BE(1, 0);
    frame[4] = FRAME.shutdown;
    return frame;
  }
  const parts = callParts(message);
  const requestId = Buffer.from(message.requestId ?? '', 'utf8');
  let length = 1 + 4 + 2 + requestId.length;
  for (const part of parts) length += part.length;
  const frame = Buffer.allocUnsafe(4 + length);
  frame.writeUInt32BE(length, 0);
  frame[4] = FRAME[message.type];
  frame.writeUInt32BE(message.id, 5);
  frame.writeUInt16BE(requestId.length, 9);
  let at = 11 + requestId.copy(frame, 11);
  for (const part of parts) at += part.copy(frame, at);
  return frame;
}

function callParts(message: Call): Buffer[] {
  switch (message.type) {
    case 'run':
      return [asBuffer(message.body)];
    case 'raw': {
      const meta = Buffer.from(
        JSON.stringify({ headers: message.headers, method: message.method, path: message.path }),
        'utf8',
      );
      return [u32(meta.length), meta, asBuffer(message.body)];
    }
    case 'batch':
      return [Buffer.from(JSON.stringify(message.miniBatch) ?? 'null', 'utf8')];
    case 'runs': {
      const parts = [Buffer.from([message.each ? 1 : 0]), u32(message.bodies.length)];
      for (const { requestId, body } of message.bodies) {
        const id = Buffer.from(requestId ?? '', 'utf8');
        const bytes = asBuffer(body);
        parts.push(u16(id.length), id, u32(bytes.length), bytes);
      }
      return parts;
    }
  }
}

function asBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function u16(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(2);
  bytes.writeUInt16BE(value, 0);
  return bytes;
}

function u32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

/** Collects chunks from a pipe and hands on each whole frame, decoded. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onFrame: (frame: DecodedFrame) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      const length = joined.readUInt32BE(0);
      if (joined.length < 4 + length) {
        this.pending = [joined];
        return;
      }
      const body = joined.subarray(4, 4 + length);
      const rest = joined.subarray(4 + length);
      this.pending = rest.length === 0 ? [] : [rest];
      this.pendingBytes = rest.length;
      this.onFrame(decodeFromPython(body));
    }
  }
}

/** Decodes one frame's bytes (after the length); a malformed frame throws a RangeError. */
export function decodeFromPython(frame: Buffer): DecodedFrame {
  const cursor = new Cursor(frame);
  const kind = cursor.u8();
  if (kind === FRAME.json) return { type: 'json', message: JSON.parse(cursor.rest().toString('utf8')) };
  if (kind === FRAME.result) {
    const id = cursor.u32();
    const status = cursor.u16();
    const binary = cursor.u8() === 1;
    const execNs = cursor.f64();
    const contentType = cursor.string(cursor.u16());
    return { type: 'result', id, status, binary, execNs, contentType, body: cursor.rest() };
  }
  if (kind === FRAME.results) {
    const id = cursor.u32();
    const execNs = cursor.f64();
    const count = cursor.u32();
    const results: (PythonAnswer | PythonFailure)[] = [];
    for (let i = 0; i < count; i++) {
      if (cursor.u8() === 1) {
        const status = cursor.u16();
        const binary = cursor.u8() === 1;
        const itemNs = cursor.f64();
        const contentType = cursor.string(cursor.u16());
        results.push({ status, binary, execNs: itemNs, contentType, body: cursor.bytes(cursor.u32()) });
      } else {
        const code = cursor.string(cursor.u16()) === 'BAD_INPUT' ? 'BAD_INPUT' : 'RUN_FAILED';
        results.push({ code, message: cursor.string(cursor.u32()) });
      }
    }
    return { type: 'results', id, execNs, results };
  }
  throw new RangeError(`unknown frame kind ${kind}`);
}

class Cursor {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  u8(): number {
    return this.buffer.readUInt8(this.advance(1));
  }
  u16(): number {
    return this.buffer.readUInt16BE(this.advance(2));
  }
  u32(): number {
    return this.buffer.readUInt32BE(this.advance(4));
  }
  f64(): number {
    return this.buffer.readDoubleBE(this.advance(8));
  }
  bytes(length: number): Buffer {
    const start = this.advance(length);
    return this.buffer.subarray(start, start + length);
  }
  string(length: number): string {
    return this.bytes(length).toString('utf8');
  }
  rest(): Buffer {
    return this.buffer.subarray(this.at);
  }

  private advance(length: number): number {
    const start = this.at;
    if (start + length > this.buffer.length) throw new RangeError('frame ends early');
    this.at += length;
    return start;
  }
}
