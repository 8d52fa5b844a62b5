/**
 * One request at a time over one kept-alive connection, each timed on its own: the client for
 * latency at concurrency 1, where autocannon's whole-millisecond histogram is too coarse.
 */
import { Agent, request } from 'node:http';
import type { HttpPayload } from './payloads.js';

export function sendOne(agent: Agent, port: number, payload: HttpPayload): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: payload.path,
        headers: { ...payload.headers, 'content-length': String(payload.body.length) },
        agent,
      },
      (response) => {
        if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`));
        response.resume();
        response.on('end', resolve);
      },
    );
    call.on('error', reject);
    call.end(payload.body);
  });
}

/** `count` requests one after another; their latencies in ms. */
export async function sequentialLatencies(
  port: number,
  payload: HttpPayload,
  count: number,
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await sendOne(agent, port, payload);
      latencies.push(performance.now() - started);
    }
    return latencies;
  } finally {
    agent.destroy();
  }
}
