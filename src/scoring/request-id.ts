/**
 * Ids for requests that bring none, in UUID form (version 4 layout) as clients and logs expect.
 * `crypto.randomUUID` draws 16 bytes from the system's generator for each one, which profiling
 * showed as a measurable share of a tiny model's request; these draw 74 random bits once per
 * process and count the rest, so they stay unique within a process and, with the random part,
 * across the replicas of a deployment. They are request labels, not secrets.
 */
import { randomBytes } from 'node:crypto';

const random = randomBytes(10).toString('hex');
/** 8-4-4(version 4)-4(variant 10xx) hex digits: the process's random part. */
const prefix =
  `${random.slice(0, 8)}-${random.slice(8, 12)}-4${random.slice(12, 15)}-` +
  `${(8 + (parseInt(random.slice(15, 16), 16) & 3)).toString(16)}${random.slice(16, 19)}-`;
let counter = 0;

/** The next id: the process's prefix and a 48-bit count in the last 12 hex digits. */
export function newRequestId(): string {
  counter = counter === 0xffffffffffff ? 1 : counter + 1;
  return prefix + counter.toString(16).padStart(12, '0');
}
