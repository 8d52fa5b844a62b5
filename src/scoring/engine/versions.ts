/**
 * Which loaded version a request without a version gets: the highest number when versions are
 * numbers (the registry's case), otherwise the one loaded last. Shared by the engine's model table
 * and the workers' `ctx.session()` so both pick the same one.
 */
export interface Versioned {
  version: string;
  /** Increases with every load, so ties break toward the newer load. */
  loadSequence: number;
}

export function newest<T extends Versioned>(entries: Iterable<T>): T | undefined {
  let best: T | undefined;
  for (const entry of entries) if (best === undefined || isNewer(entry, best)) best = entry;
  return best;
}

function isNewer(a: Versioned, b: Versioned): boolean {
  const numeric = /^\d+$/;
  if (numeric.test(a.version) && numeric.test(b.version) && a.version !== b.version) {
    return Number(a.version) > Number(b.version);
  }
  return a.loadSequence > b.loadSequence;
}

export function modelKey(name: string, version: string): string {
  return `${name}@${version}`;
}
