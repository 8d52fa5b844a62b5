/**
 * The SDK's HTTP client of the control plane: JSON requests with the bearer token, answers
 * checked with zod, error bodies turned back into BerthErrors with their codes. Connecting starts
 * the workspace's server when none runs (see control-plane-process.ts).
 */
import type { z } from 'zod';
import { BerthError, deserializeError, isErrorCode } from '../core/errors.js';
import { findServer, startServer, type StartServerOptions } from './control-plane-process.js';
import type { ServerFile } from '../workspace/server-file.js';

export interface ConnectOptions extends StartServerOptions {
  /** Start the server when none runs. Default true. */
  autoStart?: boolean;
}

async function errorFrom(response: Response): Promise<BerthError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const error = body.error;
    if (error !== undefined && isErrorCode(error.code) && typeof error.message === 'string') {
      return deserializeError({ code: error.code, message: error.message });
    }
  } catch {
    // not our error shape
  }
  return new BerthError('INTERNAL', `the control plane answered ${response.status}: ${text.slice(0, 200)}`);
}

export class ControlPlaneClient {
  private constructor(readonly server: ServerFile) {}

  static async connect(workspaceDir: string, options: ConnectOptions = {}): Promise<ControlPlaneClient> {
    if (options.autoStart === false) {
      const running = await findServer(workspaceDir);
      if (running === undefined) {
        throw new BerthError('NOT_READY', `no berth server runs on ${workspaceDir}: run berth server start`);
      }
      return new ControlPlaneClient(running);
    }
    const { server } = await startServer(workspaceDir, options);
    return new ControlPlaneClient(server);
  }

  async fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const response = await fetch(`${this.server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.server.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    }).catch((error: unknown) => {
      throw new BerthError('NOT_READY', `cannot reach the control plane at ${this.server.url}`, {
        cause: error,
      });
    });
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    const response = await this.fetch(method, path, body);
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) {
      throw new BerthError(
        'INTERNAL',
        `the control plane answered ${method} ${path} with an unexpected shape`,
      );
    }
    return parsed.data;
  }

  /** A streamed answer of one JSON value per line. */
  async *lines<S extends z.ZodType>(
    path: string,
    schema: S,
    signal?: AbortSignal,
  ): AsyncIterable<z.output<S>> {
    const response = await this.fetch('GET', path, undefined, signal);
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() !== '') yield schema.parse(JSON.parse(line));
        newline = pending.indexOf('\n');
      }
    }
  }
}
