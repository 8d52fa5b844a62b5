/**
 * A scoring script's `inputSchema` / `outputSchema`, whichever form it takes: a zod 4 schema (checked
 * and published as JSON Schema), another schema with `safeParse` (checked, not published), or a
 * JSON Schema object (published, and checked when zod can read it).
 */
import { z } from 'zod';
import type { Logger } from './logger.js';

export type Checked = { ok: true; value: unknown } | { ok: false; message: string };

export interface SchemaHandle {
  validate(value: unknown): Checked;
  jsonSchema: Record<string, unknown> | undefined;
}

interface SafeParser {
  safeParse(value: unknown): { success: boolean; data?: unknown; error?: { issues?: Issue[] } };
}

interface Issue {
  path?: PropertyKey[];
  message?: string;
}

export function schemaHandle(
  schema: unknown,
  io: 'input' | 'output',
  logger: Logger,
): SchemaHandle | undefined {
  if (schema === undefined || schema === null) return undefined;
  if (typeof schema !== 'object') {
    logger.warn(`${io}Schema is neither a zod schema nor a JSON Schema object; ignored`);
    return undefined;
  }
  if (isSafeParser(schema)) {
    return { validate: (value) => check(schema, value), jsonSchema: jsonSchemaOfZod(schema, io, logger) };
  }
  const jsonSchema = schema as Record<string, unknown>;
  let parser: SafeParser | undefined;
  try {
    parser = z.fromJSONSchema(jsonSchema);
  } catch (error) {
    logger.warn(`${io}Schema: zod cannot read this JSON Schema, so requests are not checked against it`, {
      error,
    });
  }
  return {
    validate: (value) => (parser === undefined ? { ok: true, value } : check(parser, value)),
    jsonSchema,
  };
}

function isSafeParser(value: object): value is SafeParser {
  return typeof (value as { safeParse?: unknown }).safeParse === 'function';
}

function check(parser: SafeParser, value: unknown): Checked {
  const result = parser.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error?.issues ?? [];
  const message = issues
    .slice(0, 10)
    .map(
      (issue) =>
        `${issue.path?.length ? issue.path.map(String).join('.') : '(root)'}: ${issue.message ?? 'invalid'}`,
    )
    .join('; ');
  return { ok: false, message: message || 'invalid' };
}

function jsonSchemaOfZod(
  schema: SafeParser,
  io: 'input' | 'output',
  logger: Logger,
): Record<string, unknown> | undefined {
  // Only zod 4 schemas carry `_zod`; zod 3 ones still validate but cannot be published.
  if (!('_zod' in schema)) {
    logger.warn(`${io}Schema is not a zod 4 schema; it is checked but not published as JSON Schema`);
    return undefined;
  }
  try {
    return z.toJSONSchema(schema as unknown as z.ZodType, { io, unrepresentable: 'any' });
  } catch (error) {
    logger.warn(`${io}Schema cannot be expressed as JSON Schema; it is checked but not published`, { error });
    return undefined;
  }
}
