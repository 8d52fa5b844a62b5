/**
 * The scoring server's stop delay from its environment: `BERTH_STOP_DELAY_MS` sets `stopDelayMs`
 * for a process whose options file is baked into an image (the Kubernetes target's pods). On a stop
 * signal the server keeps serving that long with readiness at 503, so a Service or a gateway that
 * learns of the pod's deletion late still finds it answering.
 */
import { BerthError } from './errors.js';

export const STOP_DELAY_ENV = 'BERTH_STOP_DELAY_MS';

/** The longest stop delay accepted, ms. */
export const MAX_STOP_DELAY_MS = 120_000;

/** The stop delay the environment gives, if any: whole milliseconds, 0 to 120000. */
export function stopDelayFromEnv(env: NodeJS.ProcessEnv): { stopDelayMs: number } | undefined {
  const text = env[STOP_DELAY_ENV];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > MAX_STOP_DELAY_MS) {
    throw new BerthError(
      'INVALID_SPEC',
      `${STOP_DELAY_ENV} is ${JSON.stringify(text)}: give whole milliseconds from 0 to ${MAX_STOP_DELAY_MS}`,
    );
  }
  return { stopDelayMs: value };
}
