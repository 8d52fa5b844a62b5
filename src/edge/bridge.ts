/**
 * MQTT in → scoring server → MQTT out: the body of a message on `{prefix}/{device}/in/{stream}`
 * is POSTed to the running scoring server's `/score`, and its answer (result or error, as the
 * HTTP API gives it) is published on `{prefix}/{device}/out/{stream}` with the HTTP status as the
 * `status` user property and the request's MQTT 5 correlation data, so a sender can match them.
 */
import { Agent, request } from 'node:http';

export interface ScoreAnswer {
  status: number;
  body: Buffer;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 16 });

export function scoreOverHttp(port: number, body: Buffer, timeoutMs: number): Promise<ScoreAnswer> {
  return new Promise((resolveAnswer) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/score',
        agent: keepAlive,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolveAnswer({ status: res.statusCode ?? 502, body: Buffer.concat(parts) }));
        res.on('error', (error) => resolveAnswer(failure(502, error.message)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolveAnswer(failure(502, `scoring server: ${error.message}`)));
    req.end(body);
  });
}

/** An answer the device makes itself: `{code, message}`, with `message` where the scoring server puts it. */
export function failure(status: number, message: string, code = 'NOT_READY'): ScoreAnswer {
  return { status, body: Buffer.from(JSON.stringify({ code, message })) };
}

/**
 * Why a message on `{prefix}/{device}/in/{stream}` is not scored, or undefined when it may go to
 * the scoring server (which checks its shape against the model, as for HTTP). A request is a JSON
 * object or array of at most `maxBytes`, and not retained: a retained request would be scored
 * again every time the device subscribes.
 */
export function refusal(
  topic: string,
  payload: Buffer,
  retained: boolean,
  maxBytes: number,
): ScoreAnswer | undefined {
  if (retained)
    return failure(
      400,
      `the retained message on ${topic} is not scored: a scoring request must not be retained (it would be scored again at every reconnect)`,
      'BAD_INPUT',
    );
  if (payload.length > maxBytes)
    return failure(
      413,
      `the message on ${topic} is ${payload.length} bytes, larger than the limit of ${maxBytes} bytes (berth edge agent --max-message-bytes)`,
      'PAYLOAD_TOO_LARGE',
    );
  if (payload.length === 0)
    return failure(400, `the message on ${topic} is empty: expected a JSON request`, 'BAD_INPUT');
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return failure(400, `the message on ${topic} is not JSON: ${reason}`, 'BAD_INPUT');
  }
  if (typeof parsed !== 'object' || parsed === null)
    return failure(
      400,
      `the message on ${topic} is JSON ${parsed === null ? 'null' : typeof parsed}, not a request: expected an object such as {"data": [[…]]}`,
      'BAD_INPUT',
    );
  return undefined;
}
