/**
 * One cancellation signal per inference that fires at whichever comes first: the server's
 * `requestTimeoutMs`, the client's own deadline (`grpc-timeout`), or the client cancelling.
 * Admission and the engine both receive it, so time spent queued counts against the same budget
 * as time spent computing. A unary call gets one; each request on a stream gets its own, tied to
 * the stream's cancellation.
 */
import { BerthError } from '../../core/errors.js';
import { CancelSource, type CancelSignal } from '../cancel.js';

export interface CallSignal {
  signal: CancelSignal;
  /** Clears the timer and listener; call once the request has been answered. */
  dispose: () => void;
}

/** What both a unary call and a stream offer. */
interface CallWithDeadline {
  getDeadline(): Date | number;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

export function createCallSignal(call: CallWithDeadline, requestTimeoutMs: number): CallSignal {
  const controller = new CancelSource();
  const timer = startBudget(controller, clientBudgetMs(call), requestTimeoutMs);
  const onCancelled = (): void => {
    controller.abort(new BerthError('REQUEST_TIMEOUT', 'the client cancelled the call'));
  };
  call.once('cancelled', onCancelled);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
    },
  };
}

/**
 * The stream's own signal: aborts when the client cancels the stream (or its deadline passes).
 * Requests on the stream listen to it rather than to the call, so a busy stream adds no listeners
 * to the call's emitter.
 */
export function createStreamSignal(call: CallWithDeadline): CancelSignal {
  const controller = new CancelSource();
  call.once('cancelled', () => {
    controller.abort(new BerthError('REQUEST_TIMEOUT', 'the client cancelled the stream'));
  });
  return controller.signal;
}

/** One request's signal on a stream: its own budget, and the stream's cancellation. */
export function createStreamRequestSignal(
  call: CallWithDeadline,
  stream: CancelSignal,
  requestTimeoutMs: number,
): CallSignal {
  const controller = new CancelSource();
  const timer = startBudget(controller, clientBudgetMs(call), requestTimeoutMs);
  const onCancelled = (): void => controller.abort(stream.reason);
  if (stream.aborted) onCancelled();
  else stream.addEventListener('abort', onCancelled);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      stream.removeEventListener('abort', onCancelled);
    },
  };
}

/** Milliseconds left before the client's deadline; Infinity when it set none. */
function clientBudgetMs(call: CallWithDeadline): number {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : Infinity;
}

function startBudget(controller: CancelSource, clientMs: number, requestTimeoutMs: number): NodeJS.Timeout {
  const fromClient = clientMs < requestTimeoutMs;
  const timer = setTimeout(
    () => {
      controller.abort(
        new BerthError(
          fromClient ? 'UPSTREAM_TIMEOUT' : 'REQUEST_TIMEOUT',
          fromClient
            ? `the client's deadline (${Math.round(clientMs)} ms) passed before the inference finished`
            : `the inference took longer than the server's request timeout of ${requestTimeoutMs} ms`,
        ),
      );
    },
    Math.min(clientMs, requestTimeoutMs),
  );
  timer.unref();
  return timer;
}
