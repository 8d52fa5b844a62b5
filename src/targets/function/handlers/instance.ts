/**
 * One function instance's scoring server, shared by every handler shape. The first invocation of
 * an instance (its cold start) reads the package's scoring options, starts the same scoring server
 * the other targets run, on loopback inside the instance, and waits for its models to load; every
 * invocation then goes to that server over a kept-alive connection. So a handler speaks exactly
 * the server's `/score` and Open Inference Protocol v2 JSON, with the same validation, errors and
 * request ids, and the model session is created once per cold start and reused.
 *
 * The package root is the folder above the bundled handler (`<root>/berth/<kind>.js`), or
 * `BERTH_FUNCTION_ROOT`; the scoring options are `<root>/scoring.json`, with paths relative to it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, toBerthError } from '../../../core/errors.js';
import { resolveScoringOptions, type ScoringOptions } from '../../../scoring/options.js';
import { startScoringServer } from '../../../scoring/server.js';

/** An HTTP exchange as every platform's event comes down to it. */
export interface FunctionRequest {
  method: string;
  /** Path and query string, e.g. `/v2/models/linear/infer?x=1`. */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface FunctionResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Instance {
  port: number;
  agent: Agent;
}

/** The options file inside a package, and the folder of the runtime beside the handlers. */
export const optionsFileName = 'scoring.json';

function packageRoot(): string {
  const given = process.env.BERTH_FUNCTION_ROOT;
  return given !== undefined && given !== '' ? given : fileURLToPath(new URL('..', import.meta.url));
}

const inside = (root: string, path: string | undefined): string | undefined =>
  path === undefined || isAbsolute(path) ? path : join(root, path);

async function coldStart(): Promise<Instance> {
  const root = packageRoot();
  const esbuild = join(root, 'berth', 'node_modules', '@esbuild', 'linux-x64', 'bin', 'esbuild');
  if (process.env.ESBUILD_BINARY_PATH === undefined && existsSync(esbuild))
    process.env.ESBUILD_BINARY_PATH = esbuild;
  const options = JSON.parse(await readFile(join(root, optionsFileName), 'utf8')) as ScoringOptions;
  const models = (options.models ?? []).map((model) => ({
    ...model,
    modelDir: inside(root, model.modelDir) ?? model.modelDir,
    modelFile: inside(root, model.modelFile),
  }));
  process.env.AZUREML_MODEL_DIR ??= models[0]?.modelDir;
  process.env.BERTH_MODEL_DIR ??= models[0]?.modelDir;
  const server = await startScoringServer(
    resolveScoringOptions({
      ...options,
      models,
      scoringScript: inside(root, options.scoringScript),
      port: 0,
      host: '127.0.0.1',
      handleSignals: false,
      exitOnFatal: true,
    }),
  );
  await server.ready;
  return { port: server.httpPort, agent: new Agent({ keepAlive: true }) };
}

let started: Promise<Instance> | undefined;

/** Starts the instance's server on first use; a failed start answers every later invocation. */
export function startInstance(): Promise<Instance> {
  started ??= coldStart();
  return started;
}

const dropped = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function send(instance: Instance, input: FunctionRequest): Promise<FunctionResponse> {
  const headers: Record<string, string | number> = { 'content-length': input.body.length };
  for (const [name, value] of Object.entries(input.headers))
    if (!dropped.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port: instance.port,
        method: input.method,
        path: input.path,
        headers,
        agent: instance.agent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const out: Record<string, string> = {};
          for (const [name, value] of Object.entries(response.headers)) {
            if (value === undefined || dropped.has(name) || name === 'date') continue;
            out[name] = Array.isArray(value) ? value.join(', ') : value;
          }
          resolve({ status: response.statusCode ?? 500, headers: out, body: Buffer.concat(chunks) });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(input.body);
  });
}

/** The answer a request gets when the instance cannot serve: the server's error body for the route. */
export function errorResponse(path: string, error: unknown): FunctionResponse {
  const berth = toBerthError(error);
  const key = path.startsWith('/v2') ? 'error' : 'message';
  return {
    status: berth.status,
    headers: { 'content-type': 'application/json', 'x-berth-error-code': berth.code },
    body: Buffer.from(`{"${key}":${JSON.stringify(berth.message)}}`),
  };
}

/** One invocation: the instance's server answers, or the reason it cannot start does. */
export async function invoke(input: FunctionRequest): Promise<FunctionResponse> {
  if (!input.path.startsWith('/'))
    return errorResponse(
      '/',
      new BerthError('BAD_INPUT', `the path ${JSON.stringify(input.path)} must start with /`),
    );
  let instance: Instance;
  try {
    instance = await startInstance();
  } catch (error) {
    const berth = toBerthError(error, 'RUN_FAILED');
    return errorResponse(
      input.path,
      new BerthError(berth.code, `the function instance cannot start: ${berth.message}`),
    );
  }
  try {
    return await send(instance, input);
  } catch (error) {
    return errorResponse(
      input.path,
      new BerthError(
        'INTERNAL',
        `the instance's scoring server did not answer: ${toBerthError(error).message}`,
      ),
    );
  }
}

/**
 * What a fetch-style request offers: the WHATWG `Request`, and `@azure/functions`' `HttpRequest`,
 * which has the same members.
 */
export interface FetchLikeRequest {
  method: string;
  url: string;
  headers: { forEach(callback: (value: string, name: string) => void): void };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** One invocation from a fetch-style request: its path, query, headers and body. */
export async function invokeFetchLike(request: FetchLikeRequest): Promise<FunctionResponse> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
  const body =
    request.method === 'GET' || request.method === 'HEAD'
      ? Buffer.alloc(0)
      : Buffer.from(await request.arrayBuffer());
  return invoke({ method: request.method, path: `${url.pathname}${url.search}`, headers, body });
}

/** True for a body a JSON or text client reads as UTF-8 text; others travel base64-encoded. */
export function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
}
