/**
 * HTTP for the integration tests, over real loopback sockets: one request helper that keeps the
 * whole answer, and a steady load of clients that loop until stopped. Shared by the gateway, the
 * target and the control-plane tests.
 */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

export interface SendOptions {
  body?: unknown;
  /** Sent as is instead of `body` (JSON). */
  raw?: Buffer;
  headers?: Record<string, string>;
  method?: string;
  /** false: a new connection for this request only (default: a shared keep-alive pool). */
  keepAlive?: boolean;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One request; rejects only when no answer comes (e.g. the connection is refused). A kept-alive
 * connection the server closed for idleness just as this request reused it (Node's documented
 * race: `reusedSocket` and ECONNRESET) is retried once on a new connection; nothing else is.
 */
export function send(url: string, options: SendOptions = {}): Promise<Answer> {
  return sendOnce(url, options).catch((error: unknown) => {
    if (error instanceof ReusedSocketReset) return sendOnce(url, { ...options, keepAlive: false });
    throw error;
  });
}

class ReusedSocketReset extends Error {}

function sendOnce(url: string, options: SendOptions): Promise<Answer> {
  const started = Date.now();
  const payload =
    options.raw ?? (options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body)));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        agent: options.keepAlive === false ? false : agent,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        req.reusedSocket && error.code === 'ECONNRESET'
          ? new ReusedSocketReset(error.message, { cause: error })
          : error,
      ),
    );
    req.end(payload);
  });
}

export interface SteadyLoad {
  /** Stops every client after its request in flight; every answer, in completion order. */
  stop(): Promise<Answer[]>;
  /** How many answers have come so far. */
  count(): number;
  /** Settles when every client has stopped by itself (maxMs or maxAnswers reached) or by stop(). */
  finished: Promise<Answer[]>;
}

export interface SteadyLoadLimits {
  /** Concurrent loops (default 4). */
  clients?: number;
  /** Every loop stops by itself after this long (default 120 s), so a stuck test cannot load forever. */
  maxMs?: number;
  /** ...or once this many answers came (default 100,000), so a fast-failing load cannot fill memory. */
  maxAnswers?: number;
}

/**
 * `clients` loops, each sending one request after another (`next(client, n)`) until stopped or a
 * limit is reached, with no retry. A request that gets no answer is kept as status 0 with the error
 * as its body. Each loop yields to the event loop after every answer: a `next` that answers without
 * I/O (e.g. "no ready replica") must not starve the timers and probes the test waits on.
 */
export function steadyLoad(
  next: (client: number, n: number) => Promise<Answer>,
  limits: SteadyLoadLimits = {},
): SteadyLoad {
  const { clients = 4, maxMs = 120_000, maxAnswers = 100_000 } = limits;
  const until = Date.now() + maxMs;
  let running = true;
  const answers: Answer[] = [];
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let n = 0; running && Date.now() < until && answers.length < maxAnswers; n += 1) {
      const started = Date.now();
      answers.push(
        await next(client, n).catch((error: unknown) => ({
          status: 0,
          headers: {},
          body: error instanceof Error ? error.message : String(error),
          ms: Date.now() - started,
        })),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  return {
    count: () => answers.length,
    finished: Promise.all(loops).then(() => answers),
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

/** `status body` of every answer that is not a 200: [] when none failed. */
export function failures(answers: readonly Answer[]): string[] {
  return answers.filter((answer) => answer.status !== 200).map((answer) => `${answer.status} ${answer.body}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
