/** Validates a target's config once, at the boundary, with every issue in one INVALID_SPEC message. */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';

/** @param what the config's name in the message, e.g. 'local target config' */
export function validateTargetConfig<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new BerthError('INVALID_SPEC', `${what}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

const ms = z.number().int().nonnegative();

/**
 * The fields of a target whose replicas are processes berth supervises (local, ssh): start
 * deadline, restart back-off, log lines kept, and the grace period of a rolling switch.
 */
export const replicaProcessFields = {
  /** How long a replica may take from start to ready. Default 120000 ms. */
  startTimeoutMs: ms.positive().default(120_000),
  /** Restart back-off: doubles from initialMs up to maxMs. Defaults 500 and 30000 ms. */
  restartBackoff: z
    .strictObject({ initialMs: ms.positive().default(500), maxMs: ms.positive().default(30_000) })
    .prefault({}),
  /** Lines of output kept in memory per deployment for `logs()`. Default 2000. */
  logRingLines: z.number().int().positive().default(2000),
  /**
   * After a rolling switch, how long old replicas keep their sockets open before they stop, so a
   * request routed just before the switch still lands. Default 300 ms.
   */
  switchGraceMs: ms.default(300),
};
