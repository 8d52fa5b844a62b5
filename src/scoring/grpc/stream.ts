/**
 * ModelStreamInfer, as Triton serves it for models that answer once per request: every request
 * starts as soon as it is read, as a ModelInfer would (admission included, so a stream cannot run
 * more than any other client), and is answered as soon as it is done, so answers may overtake
 * each other; clients match them by `id`. A request that fails, even one whose bytes are not a
 * ModelInferRequest, is answered with `error_message`, and the stream goes on. The server ends the
 * stream once the client has closed its side and every answer is written.
 *
 * A stream runs at most MAX_RUNNING of its requests at once and stops reading while it does (or
 * while its answers wait to be sent): a client that sends a burst is slowed down by HTTP/2 flow
 * control instead of being refused by admission or piling up memory here.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { toBerthError } from '../../core/errors.js';
import type { CancelSignal } from '../cancel.js';
import type { KeyCheck } from './auth.js';
import { createStreamRequestSignal, createStreamSignal } from './deadline.js';
import { countFailure, runInference, type InferenceContext } from './infer.js';
import { MalformedMessage } from './malformed.js';
import type { ModelInferRequest, ModelStreamInferResponse } from './messages.js';
import { ERROR_CODE_TRAILER, toServiceError } from './status.js';

const MAX_RUNNING = 16;

type InferStream = ServerDuplexStream<ModelInferRequest | MalformedMessage, ModelStreamInferResponse>;

export function serveInferStream(context: InferenceContext, checkKey: KeyCheck, call: InferStream): void {
  try {
    checkKey(call.metadata);
  } catch (error) {
    call.emit('error', toServiceError(error));
    return;
  }
  const stream = createStreamSignal(call);
  let running = 0;
  let clientDone = false;
  let waitingForDrain = false;
  let paused = false;

  const updateFlow = (): void => {
    const hold = running >= MAX_RUNNING || waitingForDrain;
    if (hold !== paused) {
      paused = hold;
      if (hold) call.pause();
      else call.resume();
    }
  };
  const finishIfDone = (): void => {
    if (clientDone && running === 0 && !stream.aborted) call.end();
  };
  const send = (response: ModelStreamInferResponse): void => {
    running -= 1;
    if (stream.aborted) return;
    // A client that sends faster than it reads would make answers pile up here: read no more of
    // its requests until the written answers have gone out.
    if (!call.write(response) && !waitingForDrain) {
      waitingForDrain = true;
      call.once('drain', () => {
        waitingForDrain = false;
        updateFlow();
      });
    }
    updateFlow();
    finishIfDone();
  };

  call.on('data', (message: ModelInferRequest | MalformedMessage) => {
    running += 1;
    updateFlow();
    void answer(context, call, message, stream).then(send);
  });
  call.on('end', () => {
    clientDone = true;
    finishIfDone();
  });
}

/** Never rejects: a failure becomes the answer's `error_message`. */
async function answer(
  context: InferenceContext,
  call: InferStream,
  message: ModelInferRequest | MalformedMessage,
  stream: CancelSignal,
): Promise<ModelStreamInferResponse> {
  if (message instanceof MalformedMessage) return failed(message.error, undefined);
  const { signal, dispose } = createStreamRequestSignal(call, stream, context.requestTimeoutMs);
  try {
    const response = await runInference(context, message, call.metadata, signal);
    return { error_message: '', infer_response: response };
  } catch (error) {
    countFailure(context.metrics, error);
    return failed(error, message);
  } finally {
    dispose();
  }
}

function failed(error: unknown, request: ModelInferRequest | undefined): ModelStreamInferResponse {
  const berth = toBerthError(error);
  return {
    error_message: berth.message,
    infer_response: {
      model_name: request?.model_name ?? '',
      model_version: request?.model_version ?? '',
      id: request?.id ?? '',
      parameters: { [ERROR_CODE_TRAILER]: { string_param: berth.code } },
    },
  };
}
