import { BerthError } from '../../core/errors.js';

/**
 * Runs `body` with a deadline: past `timeoutMs` its signal is aborted and the promise rejects with
 * UPSTREAM_TIMEOUT at once, even if `body` ignores the signal (its late result is dropped; a
 * JavaScript run cannot be killed from inside its own process).
 */
export async function runWithTimeout<T>(
  body: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  message: string,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new BerthError('UPSTREAM_TIMEOUT', message));
    }, timeoutMs);
  });
  const running = body(controller.signal);
  // The losing promise must not become an unhandled rejection.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}
