/**
 * The AWS Lambda handler for HTTP events in payload format 2.0: API Gateway HTTP APIs and Lambda
 * function URLs (`{version: '2.0', rawPath, rawQueryString, headers, cookies, body,
 * isBase64Encoded, requestContext: {http: {method}, stage}}`). It answers in the documented
 * structured form, `{statusCode, headers, body, isBase64Encoded}`: JSON and text bodies as text,
 * binary tensor answers base64-encoded. An event of another shape gets a 400 that says so.
 */
import { z } from 'zod';
import { BerthError } from '../../../core/errors.js';
import { errorResponse, invoke, isTextual, startInstance, type FunctionResponse } from './instance.js';

const eventSchema = z.looseObject({
  version: z.literal('2.0'),
  rawPath: z.string().startsWith('/'),
  rawQueryString: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
  cookies: z.array(z.string()).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.looseObject({
    http: z.looseObject({ method: z.string().min(1) }),
    stage: z.string().optional(),
  }),
});

export interface LambdaHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

function result(answer: FunctionResponse): LambdaHttpResult {
  const text = isTextual(answer.headers['content-type']);
  return {
    statusCode: answer.status,
    headers: answer.headers,
    body: answer.body.toString(text ? 'utf8' : 'base64'),
    isBase64Encoded: !text,
  };
}

/** A named stage is part of rawPath (`/prod/score`); the `$default` stage adds nothing. */
function routePath(rawPath: string, stage: string | undefined): string {
  if (stage === undefined || stage === '$default') return rawPath;
  const prefix = `/${stage}`;
  return rawPath === prefix ? '/' : rawPath.startsWith(`${prefix}/`) ? rawPath.slice(prefix.length) : rawPath;
}

export async function handler(event: unknown): Promise<LambdaHttpResult> {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'event'}: ${issue.message}`);
    const error = new BerthError(
      'BAD_INPUT',
      `not an API Gateway HTTP API (payload 2.0) or function URL event: ${issues.join('; ')}`,
    );
    return result(errorResponse('/', error));
  }
  const input = parsed.data;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value;
  if (input.cookies !== undefined && input.cookies.length > 0) headers.cookie = input.cookies.join('; ');
  const path = routePath(input.rawPath, input.requestContext.stage);
  const body = Buffer.from(input.body ?? '', input.isBase64Encoded ? 'base64' : 'utf8');
  const query = input.rawQueryString === '' ? '' : `?${input.rawQueryString}`;
  return result(
    await invoke({ method: input.requestContext.http.method, path: `${path}${query}`, headers, body }),
  );
}

/** Starts the instance's scoring server ahead of the first event (the init phase). */
export const warm = (): Promise<void> => startInstance().then(() => undefined);
