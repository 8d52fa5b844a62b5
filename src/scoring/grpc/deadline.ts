/**
 * One cancellation signal per call that fires at whichever comes first: the server's `requestTimeoutMs`,
 * the client's own deadline (`grpc-timeout`), or the client cancelling. Admission and the engine
 * both receive it, so time spent queued counts against the same budget as time spent computing.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { BerthError } from '../../core/errors.js';
import { CancelSource, type CancelSignal } from '../cancel.js';

export interface CallSignal {
  signal: CancelSignal;
  /** Clears the timer and listener; call once the call has been answered. */
  dispose: () => void;
}

export function createCallSignal(
  call: ServerUnaryCall<unknown, unknown>,
  requestTimeoutMs: number,
): CallSignal {
  const controller = new CancelSource();
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const clientMs = Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : Infinity;
  const fromClient = clientMs < requestTimeoutMs;
  const budgetMs = Math.min(clientMs, requestTimeoutMs);

  const timer = setTimeout(() => {
    controller.abort(
      new BerthError(
        fromClient ? 'UPSTREAM_TIMEOUT' : 'REQUEST_TIMEOUT',
        fromClient
          ? `the client's deadline (${Math.round(clientMs)} ms) passed before the inference finished`
          : `the inference took longer than the server's request timeout of ${requestTimeoutMs} ms`,
      ),
    );
  }, budgetMs);
  timer.unref();

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
