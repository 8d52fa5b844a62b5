/** Validates a target's config once, at the boundary, with every issue in one INVALID_SPEC message. */
import type { z } from 'zod';
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
