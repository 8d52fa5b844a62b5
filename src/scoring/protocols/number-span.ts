/**
 * Large JSON arrays of numbers read from a body's bytes in one pass, for the tensor decoders: the
 * syntax is checked as JSON.parse would check it, and each number is read to a double that is
 * either exactly JSON.parse's or a few ulps from it. The datatype is not known at that point, so
 * the last step (exactly, or rounded to FP32) is left to NumberArraySpan's readers, which turn to
 * the number's own text whenever the scanned value cannot settle it.
 */
import { CLOSE, COMMA, DOT, MINUS, NINE, OPEN, PLUS, ZERO } from './json-chars.js';

/** A numeric array at least this long (in bytes) in a tensor's data slot stays a span. */
export const SPAN_MIN_BYTES = 1024;

/** Arrays in a span nest at most this deep (the root array is depth 0); tensors allow 32 levels. */
const MAX_SPAN_DEPTH = 32;

/** Exact powers of ten: every one up to 1e22 is a double. */
const POWERS = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** The doubles nearest to 10^-k: a product with one is off by about an ulp, fine for FP32. */
const INVERSE_POWERS = Array.from({ length: 23 }, (_, i) => Number(`1e-${i}`));

/** ±2^-45: far wider than the few double ulps a scanned value can be off. */
const ABOVE = 1 + 2 ** -45;
const BELOW = 1 - 2 ** -45;

export function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Whether the four bytes of little-endian `word` are all ASCII digits. */
function fourDigits(word: number): boolean {
  return ((word & 0xf0f0f0f0) | (((word + 0x06060606) & 0xf0f0f0f0) >>> 4)) === 0x33333333;
}

/** The value of four ASCII digits read as a little-endian word (first digit in the low byte). */
function fourDigitsValue(word: number): number {
  const pairs = (Math.imul(word & 0x0f0f0f0f, 10 * 256 + 1) >>> 8) & 0x00ff00ff;
  return Math.imul(pairs, 100 * 65536 + 1) >>> 16;
}

/** A JSON array of numbers, flat or nested, as its bytes and what one pass over them learned. */
export class NumberArraySpan {
  private readonly buffer: Buffer;

  constructor(
    bytes: Uint8Array,
    /** The offset of the opening `[`. */
    readonly start: number,
    /** The offset just past the closing `]`. */
    readonly end: number,
    /** Each number's scanned value, in order; NaN where only its text can say. */
    private readonly values: Float64Array,
    /** 1 where the scanned value is exactly JSON.parse's. */
    private readonly exact: Uint8Array,
    /** Where each number's text starts. */
    private readonly starts: Int32Array,
    /** How many numbers only their text can give exactly (the zeros in `exact`). */
    readonly inexact: number,
    /** The deepest array's depth: 0 for a flat array. */
    readonly depth: number,
    /** Whether the outer array's first item is an array. */
    readonly firstIsArray: boolean,
    /**
     * The lengths at each level when the nesting is rectangular (no empty array, every number at
     * the same depth, every array at a depth as long as the others), else undefined.
     */
    readonly shape: readonly number[] | undefined,
  ) {
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** How many numbers it holds, at any depth. */
  get count(): number {
    return this.values.length;
  }

  /** Number `index` exactly as JSON.parse reads it. */
  number(index: number): number {
    return this.exact[index] === 1 ? this.values[index]! : this.parsed(index);
  }

  /** Number `index` as `Math.fround(JSON.parse(token))`. */
  float32(index: number): number {
    // The scanned value rounds to the same float as JSON.parse's double unless a float32 rounding
    // boundary lies within its error, which the two probes find (and NaN fails both).
    const v = this.values[index]!;
    const f = Math.fround(v);
    if (Math.fround(v * ABOVE) === f && Math.fround(v * BELOW) === f) return f;
    return Math.fround(this.parsed(index));
  }

  /** The span's JSON text (numbers and brackets are ASCII). */
  text(): string {
    return this.buffer.toString('latin1', this.start, this.end);
  }

  /** The nested arrays JSON.parse makes of the span: for the paths that need plain values. */
  materialize(): unknown[] {
    return JSON.parse(this.text()) as unknown[];
  }

  private parsed(index: number): number {
    const start = this.starts[index]!;
    return Number(this.buffer.toString('latin1', start, numberEnd(this.buffer, start)));
  }
}

/**
 * The offset just past the number that starts at `i`, or -1 when the bytes there break the
 * grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
 */
export function numberEnd(b: Uint8Array, i: number): number {
  const n = b.length;
  let c = i < n ? b[i]! : -1;
  if (c === MINUS) c = ++i < n ? b[i]! : -1;
  if (c === ZERO) {
    c = ++i < n ? b[i]! : -1;
  } else if (c > ZERO && c <= NINE) {
    do c = ++i < n ? b[i]! : -1;
    while (isDigit(c));
  } else {
    return -1;
  }
  if (c === DOT) {
    c = ++i < n ? b[i]! : -1;
    if (!isDigit(c)) return -1;
    do c = ++i < n ? b[i]! : -1;
    while (isDigit(c));
  }
  if ((c | 0x20) === 0x65) {
    c = ++i < n ? b[i]! : -1;
    if (c === PLUS || c === MINUS) c = ++i < n ? b[i]! : -1;
    if (!isDigit(c)) return -1;
    do c = ++i < n ? b[i]! : -1;
    while (isDigit(c));
  }
  return i;
}

/** Scratch space for one scan, one entry per number: grown as needed, kept up to SCRATCH_KEPT. */
const SCRATCH_FIRST = 1024;
const SCRATCH_KEPT = 1 << 16;
let scannedValues = new Float64Array(SCRATCH_FIRST);
let scannedExact = new Uint8Array(SCRATCH_FIRST);
let scannedStarts = new Int32Array(SCRATCH_FIRST);

function growScratch(): void {
  const length = scannedValues.length * 2;
  const values = new Float64Array(length);
  values.set(scannedValues);
  scannedValues = values;
  const exact = new Uint8Array(length);
  exact.set(scannedExact);
  scannedExact = exact;
  const starts = new Int32Array(length);
  starts.set(scannedStarts);
  scannedStarts = starts;
}

/** Items in the open array at each depth, and the length every closed array at a depth had. */
const openItems = new Int32Array(MAX_SPAN_DEPTH + 1);
const closedLengths = new Int32Array(MAX_SPAN_DEPTH + 1);

/**
 * Reads the array of numbers that opens at `start` in one pass: a span when it is one, else
 * undefined (anything else in it, or a syntax error: the caller reads it another way). `limit` is
 * the offset of the body's last `]`.
 */
export function scanNumberArray(
  b: Uint8Array,
  view: DataView,
  start: number,
  limit: number,
): NumberArraySpan | undefined {
  const span = scan(b, view, start, limit);
  // A worker keeps the scratch for the next body, but not the size one outsized body grew it to.
  if (scannedValues.length > SCRATCH_KEPT) {
    scannedValues = new Float64Array(SCRATCH_FIRST);
    scannedExact = new Uint8Array(SCRATCH_FIRST);
    scannedStarts = new Int32Array(SCRATCH_FIRST);
  }
  return span;
}

/**
 * scanNumberArray's loop. Every read stays at or before `limit`: a number, or a run of spaces, stops
 * at that `]` at the latest, so bytes are read without checking the end of the body one by one.
 *
 * Each number is taken as up to 19 significant digits `m` and a decimal exponent `e`. With at most
 * 15 digits and |e| <= 22, `m * 10^e` (or `m / 10^-e`) is correctly rounded, so exact (Clinger's
 * fast path); otherwise the value is within a few ulps, which is enough for FP32 (see float32());
 * past |e| > 44 it is left to the number's text.
 */
function scan(b: Uint8Array, view: DataView, start: number, limit: number): NumberArraySpan | undefined {
  if (start >= limit) return undefined;
  let values = scannedValues;
  let exact = scannedExact;
  let starts = scannedStarts;
  closedLengths.fill(-1);
  openItems[0] = 0;
  let i = start + 1;
  let depth = 0;
  let deepest = 0;
  let count = 0;
  let inexact = 0;
  let leafDepth = -1;
  let regular = true;
  let firstIsArray = false;
  let expectValue = true;
  let justOpened = true;
  for (;;) {
    let c = b[i]!;
    while (isSpace(c)) c = b[++i]!;
    if (expectValue && !(c === CLOSE && justOpened)) {
      openItems[depth]!++;
      if (c === OPEN) {
        if (depth === 0 && openItems[0] === 1) firstIsArray = true;
        if (++depth > MAX_SPAN_DEPTH) return undefined;
        if (depth > deepest) deepest = depth;
        openItems[depth] = 0;
        i++;
        justOpened = true;
        continue;
      }
      // A run of numbers, `n, n, n`, stays in this loop: they share a depth and need no state.
      let valueFollows = false;
      for (;;) {
        const tokenStart = i;
        const negative = c === MINUS;
        if (negative) c = b[++i]!;
        let m = 0;
        let digits = 0;
        let e = 0;
        if (c === ZERO) {
          c = b[++i]!;
        } else if (c > ZERO && c <= NINE) {
          m = c - ZERO;
          digits = 1;
          i++;
          while (digits <= 15 && i + 3 <= limit) {
            const word = view.getUint32(i, true);
            if (!fourDigits(word)) break;
            m = m * 10000 + fourDigitsValue(word);
            digits += 4;
            i += 4;
          }
          c = b[i]!;
          // Past 19 digits, integer digits only scale the value and fraction digits are dropped:
          // the value stays within its error bound, and more than 15 digits is never exact.
          while (isDigit(c)) {
            if (digits < 19) {
              m = m * 10 + (c - ZERO);
              digits++;
            } else {
              e++;
            }
            c = b[++i]!;
          }
        } else {
          return undefined;
        }
        if (c === DOT) {
          c = b[++i]!;
          if (!isDigit(c)) return undefined;
          if (digits === 0) {
            while (c === ZERO) {
              e--;
              c = b[++i]!;
            }
          }
          while (digits <= 15 && i + 3 <= limit) {
            const word = view.getUint32(i, true);
            if (!fourDigits(word)) break;
            m = m * 10000 + fourDigitsValue(word);
            digits += 4;
            e -= 4;
            i += 4;
          }
          c = b[i]!;
          while (isDigit(c)) {
            if (digits < 19) {
              m = m * 10 + (c - ZERO);
              digits++;
              e--;
            }
            c = b[++i]!;
          }
        }
        if ((c | 0x20) === 0x65) {
          c = b[++i]!;
          const sign = c === MINUS ? -1 : 1;
          if (c === PLUS || c === MINUS) c = b[++i]!;
          if (!isDigit(c)) return undefined;
          let written = 0;
          do {
            if (written < 1e8) written = written * 10 + (c - ZERO);
            c = b[++i]!;
          } while (isDigit(c));
          e += sign * written;
        }
        let v: number;
        let isExact = 0;
        if (m === 0) {
          v = 0;
          isExact = 1;
        } else if (digits <= 15 && e >= -22 && e <= 22) {
          v = e >= 0 ? m * POWERS[e]! : m / POWERS[-e]!;
          isExact = 1;
        } else if (e >= 0) {
          v = e <= 22 ? m * POWERS[e]! : e <= 44 ? m * 1e22 * POWERS[e - 22]! : NaN;
        } else {
          v = e >= -22 ? m * INVERSE_POWERS[-e]! : e >= -44 ? m * 1e-22 * INVERSE_POWERS[-e - 22]! : NaN;
        }
        if (count === values.length) {
          growScratch();
          values = scannedValues;
          exact = scannedExact;
          starts = scannedStarts;
        }
        values[count] = negative ? -v : v;
        exact[count] = isExact;
        starts[count] = tokenStart;
        inexact += 1 - isExact;
        count++;
        c = b[i]!;
        while (isSpace(c)) c = b[++i]!;
        if (c !== COMMA) break;
        c = b[++i]!;
        while (isSpace(c)) c = b[++i]!;
        if (c !== MINUS && !isDigit(c)) {
          valueFollows = true;
          break;
        }
        openItems[depth]!++;
      }
      if (leafDepth !== depth) {
        if (leafDepth === -1) leafDepth = depth;
        else regular = false;
      }
      expectValue = valueFollows;
      justOpened = false;
      continue;
    }
    if (c === COMMA && !expectValue) {
      i++;
      expectValue = true;
      justOpened = false;
      continue;
    }
    if (c !== CLOSE) return undefined;
    const length = openItems[depth]!;
    const seen = closedLengths[depth]!;
    if (length === 0 || (seen !== -1 && seen !== length)) regular = false;
    closedLengths[depth] = length;
    i++;
    if (depth === 0) break;
    if (i > limit) return undefined;
    depth--;
    expectValue = false;
  }
  const shape =
    regular && count > 0 && leafDepth === deepest
      ? Array.from(closedLengths.subarray(0, deepest + 1))
      : undefined;
  return new NumberArraySpan(
    b,
    start,
    i,
    values.slice(0, count),
    exact.slice(0, count),
    starts.slice(0, count),
    inexact,
    deepest,
    firstIsArray,
    shape,
  );
}
