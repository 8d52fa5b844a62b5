/** Pieces every spec shares: names, tags, the percentage maps of traffic and mirror traffic. */
import { z } from 'zod';
import { namePattern } from '../names.js';

export const specNameSchema = z.string({ error: 'expected a name' }).regex(namePattern, {
  error: 'expected 1-63 letters, digits, "-" or "_", starting with a letter or digit',
});

export const tagsSchema = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string' }).transform(String),
  { error: 'expected a mapping of tag names to strings' },
);

export const percentSchema = z
  .number({ error: 'expected a number from 0 to 100' })
  .int({ error: 'expected a whole number from 0 to 100' })
  .min(0)
  .max(100);

/** `{ blue: 90, green: 10 }`: deployment name to whole percent. */
export const percentMapSchema = z.record(specNameSchema, percentSchema, {
  error: 'expected a mapping of deployment names to percentages',
});

export type PercentMap = Record<string, number>;
