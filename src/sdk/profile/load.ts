/**
 * Closed-loop load: `concurrency` clients, each sending its next request as soon as the last one
 * answers, for a fixed time. Latency is measured per request from send to the last byte.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ProfileRequest } from './samples.js';

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
  /** The first error's status or message, to say why a step failed. */
  firstError: string | null;
  elapsedMs: number;
}

function send(
  agent: Agent,
  url: URL,
  sample: ProfileRequest,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(sample.path, url),
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(sample.body),
        },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(sample.body);
  });
}

export async function driveLoad(
  baseUrl: string,
  requests: ProfileRequest[],
  concurrency: number,
  durationMs: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  let next = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const client = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const sample = requests[next++ % requests.length] as ProfileRequest;
      const sent = performance.now();
      try {
        const status = await send(agent, url, sample, headers);
        if (status >= 200 && status < 300) latenciesMs.push(performance.now() - sent);
        else {
          errors += 1;
          firstError ??= `HTTP ${status} from ${sample.path}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, client));
  } finally {
    agent.destroy();
  }
  return { latenciesMs, errors, firstError, elapsedMs: performance.now() - started };
}

/** Sends `count` requests one at a time; the first failure is returned as its message. */
export async function warmUp(
  baseUrl: string,
  requests: ProfileRequest[],
  count: number,
  headers: Record<string, string> = {},
): Promise<string | null> {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < count; i += 1) {
      const sample = requests[i % requests.length] as ProfileRequest;
      try {
        const status = await send(agent, url, sample, headers);
        if (status < 200 || status >= 300) return `HTTP ${status} from ${sample.path}`;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    }
    return null;
  } finally {
    agent.destroy();
  }
}
