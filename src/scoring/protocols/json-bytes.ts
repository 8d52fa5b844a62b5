/**
 * JSON request bodies parsed straight from their bytes, on the worker threads. The answer is what
 * JSON.parse of the body's UTF-8 text gives, with one difference: a large array of numbers in a
 * tensor's data slot (v2 `inputs[i].data`, `/score` `data` and `inputs.<name>`) becomes a
 * NumberArraySpan, read in one pass over its bytes, which tensor-json.ts then writes straight into
 * the tensor's typed array in the tensor's datatype. A span appears nowhere else, so the request
 * checks see plain values.
 *
 * Anything else is handed to JSON.parse of the whole text: a syntax error, a string JSON.parse
 * refuses, a `__proto__` key, nesting deeper than the parser goes, tensor data that is not all
 * numbers. The values, and the error of a bad body, are always JSON.parse's.
 */
import type { EncodedInferRequest } from '../engine.js';
import { parseJsonText } from './json-text.js';
import { BACKSLASH, CLOSE, CLOSE_BRACE, COLON, COMMA, MINUS, OPEN, OPEN_BRACE, QUOTE } from './json-chars.js';
import { isDigit, isSpace, numberEnd, scanNumberArray, SPAN_MIN_BYTES } from './number-span.js';

/** Objects and arrays nested deeper than this go to JSON.parse, which has no recursion to limit. */
const MAX_PARSE_DEPTH = 512;

/** Raised inside the parser for anything it leaves to JSON.parse; never escapes this module. */
class Unsure extends Error {}
const unsure = new Unsure('left to JSON.parse');

/** Where a value sits in the body, as far as tensor data is concerned. */
type Slot = 'other' | 'v2-root' | 'v2-inputs' | 'v2-input' | 'score-root' | 'score-inputs' | 'tensor';

function memberSlot(slot: Slot, key: string): Slot {
  switch (slot) {
    case 'v2-root':
      return key === 'inputs' ? 'v2-inputs' : 'other';
    case 'v2-input':
      return key === 'data' ? 'tensor' : 'other';
    case 'score-root':
      return key === 'data' ? 'tensor' : key === 'inputs' ? 'score-inputs' : 'other';
    case 'score-inputs':
      return 'tensor';
    default:
      return 'other';
  }
}

class Parser {
  pos = 0;
  private readonly buffer: Buffer;
  private readonly view: DataView;
  /** The offset of the last `]` in the body, found when first needed. */
  private limit: number | undefined;

  constructor(private readonly bytes: Uint8Array) {
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The byte at the next non-space offset (-1 at the end), with `pos` moved there. */
  skipSpace(): number {
    const b = this.bytes;
    let i = this.pos;
    let c = i < b.length ? b[i]! : -1;
    while (isSpace(c)) c = ++i < b.length ? b[i]! : -1;
    this.pos = i;
    return c;
  }

  value(slot: Slot, depth: number): unknown {
    const c = this.skipSpace();
    if (c === QUOTE) return this.string();
    if (c === MINUS || isDigit(c)) return this.number();
    if (c === OPEN_BRACE) return this.object(slot, depth);
    if (c === OPEN) return this.array(slot, depth);
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    throw unsure;
  }

  private object(slot: Slot, depth: number): Record<string, unknown> {
    if (depth >= MAX_PARSE_DEPTH) throw unsure;
    this.pos++;
    const result: Record<string, unknown> = {};
    let c = this.skipSpace();
    if (c === CLOSE_BRACE) {
      this.pos++;
      return result;
    }
    for (;;) {
      if (c !== QUOTE) throw unsure;
      const key = this.string();
      // An own `__proto__` property is what JSON.parse makes; assignment would set the prototype.
      if (key === '__proto__' || this.skipSpace() !== COLON) throw unsure;
      this.pos++;
      result[key] = this.value(memberSlot(slot, key), depth + 1);
      c = this.skipSpace();
      this.pos++;
      if (c === CLOSE_BRACE) return result;
      if (c !== COMMA) throw unsure;
      c = this.skipSpace();
    }
  }

  /**
   * A tensor's data array: a span when it holds only numbers (plain arrays when it is shorter than
   * SPAN_MIN_BYTES). Anything else in it (strings, booleans, a syntax error) leaves the body to
   * JSON.parse, which reads such arrays fastest and words the error.
   */
  private tensorData(): unknown {
    this.limit ??= this.bytes.lastIndexOf(CLOSE);
    const span = scanNumberArray(this.bytes, this.view, this.pos, this.limit);
    if (span === undefined) throw unsure;
    this.pos = span.end;
    return span.end - span.start < SPAN_MIN_BYTES ? span.materialize() : span;
  }

  private array(slot: Slot, depth: number): unknown {
    if (slot === 'tensor') return this.tensorData();
    if (depth >= MAX_PARSE_DEPTH) throw unsure;
    this.pos++;
    const result: unknown[] = [];
    const itemSlot = slot === 'v2-inputs' ? 'v2-input' : 'other';
    if (this.skipSpace() === CLOSE) {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.value(itemSlot, depth + 1));
      const c = this.skipSpace();
      this.pos++;
      if (c === CLOSE) return result;
      if (c !== COMMA) throw unsure;
    }
  }

  private string(): string {
    const b = this.bytes;
    const open = this.pos;
    let i = open + 1;
    let ascii = true;
    let escaped = false;
    for (;;) {
      if (i >= b.length) throw unsure;
      const c = b[i]!;
      if (c === QUOTE) break;
      if (c < 0x20) throw unsure;
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c >= 0x80) ascii = false;
      i++;
    }
    this.pos = i + 1;
    if (escaped) {
      // The slice between two quote bytes decodes as it does inside the whole text: a quote is
      // ASCII, so no UTF-8 sequence (valid or not) runs across it.
      try {
        return JSON.parse(this.buffer.toString('utf8', open, i + 1)) as string;
      } catch {
        throw unsure;
      }
    }
    return this.buffer.toString(ascii ? 'latin1' : 'utf8', open + 1, i);
  }

  private number(): number {
    const start = this.pos;
    const end = numberEnd(this.bytes, start);
    if (end < 0) throw unsure;
    this.pos = end;
    return Number(this.buffer.toString('latin1', start, end));
  }

  private literal<T>(word: string, value: T): T {
    const b = this.bytes;
    for (let k = 0; k < word.length; k++) {
      if (b[this.pos + k] !== word.charCodeAt(k)) throw unsure;
    }
    this.pos += word.length;
    return value;
  }
}

/**
 * Parses a request body of `format`: JSON.parse's values, with large numeric arrays in tensor data
 * slots left as spans. A body JSON.parse refuses gets parseJsonText's error, word for word.
 */
export function parseJsonBytes(bytes: Uint8Array, format: EncodedInferRequest['format']): unknown {
  const parser = new Parser(bytes);
  try {
    const value = parser.value(format === 'v2-json' ? 'v2-root' : 'score-root', 0);
    if (parser.skipSpace() === -1) return value;
  } catch (error) {
    if (error !== unsure) throw error;
  }
  return parseJsonText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}
