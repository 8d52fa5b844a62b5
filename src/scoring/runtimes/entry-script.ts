/**
 * The entry-script runtime, used inside worker threads: imports a compiled scoring script, calls
 * its `init(ctx)` once, and answers requests with `run(input, ctx)`.
 *
 * A script is an ES module exporting:
 * - `init(ctx)` (optional, sync or async): called once per worker thread before it serves.
 * - `run(input, ctx)` (required, sync or async): `input` is the parsed JSON body, or in raw mode
 *   `{ body: Uint8Array, headers, method, path }`.
 * - `inputSchema` / `outputSchema` (optional): zod schemas (validated, and published as JSON Schema
 *   for the API docs) or JSON Schema objects (published, and validated when zod can read them).
 * - `rawRequest = true` (optional): raw mode; `run` may then answer `{ status, contentType, body }`.
 *
 * An error thrown by `run` becomes RUN_FAILED, unless it carries a catalogue code of its own
 * (`{ code: 'BAD_INPUT' }`), which lets a script refuse a request with a 400.
 */
import { pathToFileURL } from 'node:url';
import { BerthError, hasErrorCode } from '../../core/errors.js';
import type { ScriptRequest, ScriptSchemas } from '../engine.js';
import type { Logger } from './logger.js';
import type { OnnxSession } from './onnx.js';
import { schemaHandle } from './script-schema.js';
import type { SchemaHandle } from './script-schema.js';

export interface ScriptModelInfo {
  version: string;
  modelDir: string;
  modelFile: string | undefined;
}

/** What `init` and `run` receive as `ctx`. */
export interface ScriptContext {
  /** The first (usually only) model's folder. */
  modelDir: string;
  /** Every served model by name (the newest loaded version of each). */
  models: Record<string, ScriptModelInfo>;
  logger: Logger;
  /** The ONNX Runtime session the engine opened for a model; `name` defaults to the first model. */
  session(name?: string): OnnxSession;
}

export interface RawScriptInput {
  body: Uint8Array;
  headers: Record<string, string>;
  method: string;
  path: string;
}

export type { ScriptSchemas };

export interface ScriptAnswer {
  status: number;
  contentType: string;
  body: unknown;
}

interface ScriptModule {
  init?: (ctx: ScriptContext) => unknown;
  run: (input: unknown, ctx: ScriptContext) => unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  rawRequest?: unknown;
}

export class LoadedScript {
  private constructor(
    private readonly module: ScriptModule,
    private readonly context: ScriptContext,
    private readonly input: SchemaHandle | undefined,
    private readonly output: SchemaHandle | undefined,
    readonly schemas: ScriptSchemas,
  ) {}

  /** Imports the module and runs `init`; any failure is RUN_FAILED naming the script. */
  static async load(modulePath: string, sourcePath: string, context: ScriptContext): Promise<LoadedScript> {
    let module: ScriptModule;
    try {
      module = pickExports(
        (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>,
        sourcePath,
      );
    } catch (error) {
      throw asRunFailed(error, `cannot load scoring script ${sourcePath}`);
    }
    const rawRequest = module.rawRequest === true;
    const input = rawRequest ? undefined : schemaHandle(module.inputSchema, 'input', context.logger);
    const output = schemaHandle(module.outputSchema, 'output', context.logger);
    try {
      await module.init?.(context);
    } catch (error) {
      throw asRunFailed(error, `scoring script ${sourcePath}: init() failed`);
    }
    const schemas = { rawRequest, input: input?.jsonSchema, output: output?.jsonSchema };
    return new LoadedScript(module, context, input, output, schemas);
  }

  async run(request: Pick<ScriptRequest, 'body' | 'raw'>): Promise<ScriptAnswer> {
    const input = this.schemas.rawRequest ? rawInput(request) : this.validateInput(request.body);
    let result: unknown;
    try {
      result = await this.module.run(input, this.context);
    } catch (error) {
      if (hasErrorCode(error)) throw new BerthError(error.code, error.message);
      throw asRunFailed(error, 'run() failed');
    }
    if (this.schemas.rawRequest && isScriptResponse(result)) return answerFromResponse(result);
    if (this.output !== undefined && !this.schemas.rawRequest) {
      const checked = this.output.validate(result);
      if (!checked.ok)
        throw new BerthError('RUN_FAILED', `run() returned a value outputSchema refuses: ${checked.message}`);
    }
    return { status: 200, contentType: contentTypeOf(result, this.schemas.rawRequest), body: result };
  }

  private validateInput(body: unknown): unknown {
    if (this.input === undefined) return body;
    const checked = this.input.validate(body);
    if (!checked.ok)
      throw new BerthError('BAD_INPUT', `request body does not match inputSchema: ${checked.message}`);
    return checked.value;
  }
}

function pickExports(namespace: Record<string, unknown>, sourcePath: string): ScriptModule {
  // A CommonJS script bundled to ESM exposes its exports as `default`.
  const candidate =
    typeof namespace.run === 'function' ? namespace : (namespace.default as Record<string, unknown>);
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.run !== 'function') {
    throw new BerthError(
      'RUN_FAILED',
      `scoring script ${sourcePath} does not export a run(input, ctx) function`,
    );
  }
  if (candidate.init !== undefined && typeof candidate.init !== 'function') {
    throw new BerthError('RUN_FAILED', `scoring script ${sourcePath}: export "init" must be a function`);
  }
  return candidate as unknown as ScriptModule;
}

function rawInput(request: Pick<ScriptRequest, 'body' | 'raw'>): RawScriptInput {
  const raw = request.raw;
  if (raw === undefined)
    throw new BerthError('BAD_INPUT', 'this scoring script reads raw requests, but none was given');
  return { body: raw.bytes, headers: raw.headers, method: raw.method, path: raw.path };
}

function isScriptResponse(
  value: unknown,
): value is { status?: unknown; contentType?: unknown; body: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'body' in value &&
    ('status' in value || 'contentType' in value)
  );
}

function answerFromResponse(value: { status?: unknown; contentType?: unknown; body: unknown }): ScriptAnswer {
  const status = value.status ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw new BerthError(
      'RUN_FAILED',
      `run() answered status ${JSON.stringify(status)}: use an integer from 100 to 599`,
    );
  }
  const contentType =
    typeof value.contentType === 'string' ? value.contentType : contentTypeOf(value.body, true);
  return { status, contentType, body: value.body };
}

function contentTypeOf(body: unknown, raw: boolean): string {
  if (body instanceof Uint8Array) return 'application/octet-stream';
  if (raw && typeof body === 'string') return 'text/plain; charset=utf-8';
  return 'application/json';
}

function asRunFailed(error: unknown, context: string): BerthError {
  if (hasErrorCode(error, 'RUN_FAILED')) return new BerthError('RUN_FAILED', error.message);
  const message = error instanceof Error ? error.message : String(error);
  return new BerthError('RUN_FAILED', `${context}: ${message}`, { cause: error });
}
