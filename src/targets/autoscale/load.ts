/**
 * Reads a replica's load from its scoring server: `GET /berth/status` → `load` (in flight, queued,
 * its concurrency, requests arrived, CPU time), with the replica token. A replica that does not
 * answer in time, or answers without `load`, has no reading: it is not counted as capacity.
 */
import { z } from 'zod';
import { readStatusPart } from '../shared/status-read.js';
import type { LoadReading } from './decision.js';

const count = z.number().nonnegative();
const loadSchema = z.object({
  load: z.object({
    inFlight: count,
    queued: count,
    maxConcurrent: count,
    arrived: count,
    cpuMicros: count,
  }),
});

export async function readLoad(
  url: string,
  token: string | undefined,
  timeoutMs: number,
): Promise<LoadReading | undefined> {
  return (await readStatusPart(url, token, timeoutMs, loadSchema))?.load;
}
