import { BerthError } from '../../core/errors.js';

const units: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1024,
  K: 1024,
  MB: 1024 ** 2,
  M: 1024 ** 2,
  GB: 1024 ** 3,
  G: 1024 ** 3,
};

/**
 * Parses `1MB`-style sizes as ParallelRunStep does: binary units (1 KB = 1024 bytes), case
 * insensitive, an optional space. Returns undefined when `text` is not a size, so a schema can
 * report the field with its own words.
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const factor = units[(match[2] ?? '').toUpperCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * factor);
  return bytes >= 1 ? bytes : undefined;
}

export function requireByteSize(text: string, what: string): number {
  const bytes = parseByteSize(text);
  if (bytes === undefined) {
    throw new BerthError(
      'INVALID_SPEC',
      `${what}: ${JSON.stringify(text)} is not a size; use e.g. 1MB, 512KB, 1048576`,
    );
  }
  return bytes;
}
