/**
 * Open-loop load at a fixed rate: one request every 1/rps seconds whether or not the earlier ones
 * answered (at most `maxOutstanding` in flight, past which a send counts as dropped), for a fixed
 * time. What a replica sustains at a rate is what this shows: the answers per second and their
 * latency, queueing included.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ProfileRequest } from './samples.js';
import { percentiles, type LatencyPercentiles } from './stats.js';

export interface FixedRateResult {
  rps: number;
  sent: number;
  answered: number;
  errors: number;
  dropped: number;
  /** Answers (2xx) per second of the sending window: each answer belongs to a send inside it. */
  achievedRps: number;
  latencyMs: LatencyPercentiles | undefined;
}

export async function fixedRate(
  baseUrl: string,
  requests: ProfileRequest[],
  headers: Record<string, string>,
  rps: number,
  durationMs: number,
  maxOutstanding = 256,
): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: maxOutstanding });
  const base = new URL(baseUrl);
  const latencies: number[] = [];
  let errors = 0;
  let dropped = 0;
  let sent = 0;
  let outstanding = 0;
  const pending: Promise<void>[] = [];
  const send = (sample: ProfileRequest): Promise<void> =>
    new Promise((resolve) => {
      const body = sample.body;
      const at = performance.now();
      outstanding += 1;
      const done = (ok: boolean): void => {
        outstanding -= 1;
        if (ok) latencies.push(performance.now() - at);
        else errors += 1;
        resolve();
      };
      const req = request(
        new URL(sample.path, base),
        {
          method: 'POST',
          agent,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
          res.on('error', () => done(false));
        },
      );
      req.on('error', () => done(false));
      req.end(body);
    });
  const started = performance.now();
  const interval = 1000 / rps;
  // Sends follow the clock, not the answers: a late timer catches up with the sends it owes.
  while (performance.now() - started < durationMs) {
    const owed = Math.floor((performance.now() - started) / interval) + 1;
    while (sent < owed) {
      sent += 1;
      if (outstanding >= maxOutstanding) dropped += 1;
      else pending.push(send(requests[(sent - 1) % requests.length] as ProfileRequest));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(interval, 10))));
  }
  const window = performance.now() - started;
  await Promise.all(pending);
  agent.destroy();
  return {
    rps,
    sent,
    answered: latencies.length,
    errors,
    dropped,
    achievedRps: Math.round((latencies.length / (window / 1000)) * 10) / 10,
    latencyMs: percentiles(latencies),
  };
}
