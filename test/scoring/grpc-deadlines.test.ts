/**
 * The gRPC front end's deadlines, cancellation and admission, unary and streamed, against engines
 * that never finish (or finish slowly) on their own, so every outcome is decided by the front end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { Admission, InferenceEngine } from '../../src/scoring/engine.js';
import { ERROR_CODE_TRAILER } from '../../src/scoring/grpc/index.js';
import { countingAdmission } from './grpc-engine.js';
import { rejects, startOnLoopback, until, type Message } from './grpc-harness.js';

describe('gRPC deadlines and admission', () => {
  /** An engine that never finishes on its own: it settles only when the call's signal aborts. */
  const stuckEngine = (): InferenceEngine & { settled: number } => {
    const engine = {
      settled: 0,
      models: () => [
        {
          name: 'linear',
          version: '1',
          signature: null,
          maxBatchSize: 0,
          ready: true,
          scripted: false,
        },
      ],
      isReady: () => true,
      infer: (request: { signal?: AbortSignal }) =>
        new Promise<never>((_, reject) => {
          request.signal?.addEventListener('abort', () => {
            engine.settled += 1;
            reject(request.signal?.reason as Error);
          });
        }),
    };
    return engine as unknown as InferenceEngine & { settled: number };
  };
  const request = {
    model_name: 'linear',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
  };

  it('gives up at requestTimeoutMs with DEADLINE_EXCEEDED and frees the admission slot', async () => {
    const engine = stuckEngine();
    const admission = countingAdmission();
    const running = await startOnLoopback({ engine, admission, requestTimeoutMs: 100 });
    try {
      await rejects(running.client.call('ModelInfer', request), status.DEADLINE_EXCEEDED, /100 ms/);
      assert.equal(engine.settled, 1, 'the engine saw the abort');
      assert.equal(admission.inFlight, 0);
    } finally {
      await running.stop();
    }
  });

  it("honours the client's shorter deadline", async () => {
    const engine = stuckEngine();
    const admission = countingAdmission();
    const running = await startOnLoopback({ engine, admission, requestTimeoutMs: 60_000 });
    try {
      // Long enough for the call to reach the engine on a loaded machine (a deadline that passes
      // before the server reads the call ends it there, and the engine never sees it), far shorter
      // than the server's own 60 s.
      await rejects(
        running.client.call('ModelInfer', request, { deadlineMs: 1_500 }),
        status.DEADLINE_EXCEEDED,
      );
      // The server side notices too and aborts the engine's work.
      await until(() => engine.settled > 0);
      assert.equal(engine.settled, 1);
      assert.equal(admission.inFlight, 0);
    } finally {
      await running.stop();
    }
  });

  it('answers a stream request that runs past requestTimeoutMs with an error, and the stream goes on', async () => {
    const engine = stuckEngine();
    const admission = countingAdmission();
    const running = await startOnLoopback({ engine, admission, requestTimeoutMs: 100 });
    try {
      const stream = running.client.stream();
      stream.write({ ...request, id: 'slow-1' });
      stream.write({ ...request, id: 'slow-2' });
      const answers = [await stream.next(), await stream.next()];
      for (const answer of answers) {
        assert.match(answer.error_message as string, /request timeout of 100 ms/);
        assert.deepEqual((answer.infer_response as Message).parameters, {
          [ERROR_CODE_TRAILER]: { string_param: 'REQUEST_TIMEOUT', parameter_choice: 'string_param' },
        });
      }
      assert.deepEqual(answers.map((answer) => (answer.infer_response as Message).id).sort(), [
        'slow-1',
        'slow-2',
      ]);
      assert.equal(engine.settled, 2, 'the engine saw both aborts');
      assert.equal(admission.inFlight, 0);
      stream.end();
      assert.equal((await stream.status).code, status.OK);
    } finally {
      await running.stop();
    }
  });

  it('aborts the work of a stream the client cancels and frees its admission slots', async () => {
    const engine = stuckEngine();
    const admission = countingAdmission();
    const running = await startOnLoopback({ engine, admission, requestTimeoutMs: 60_000 });
    try {
      const stream = running.client.stream();
      stream.write(request);
      stream.write(request);
      await until(() => admission.inFlight >= 2);
      assert.equal(admission.inFlight, 2);
      stream.cancel();
      assert.equal((await stream.status).code, status.CANCELLED);
      await until(() => engine.settled >= 2);
      assert.equal(engine.settled, 2);
      assert.equal(admission.inFlight, 0);
    } finally {
      await running.stop();
    }
  });

  it('runs a burst on one stream a few at a time instead of overflowing admission', async () => {
    // An engine that answers each request after 20 ms, behind room for 4 running and 16 waiting:
    // 100 requests at once would overflow it, so the stream must hold back what it reads.
    const engine = {
      ...stuckEngine(),
      infer: () =>
        new Promise((resolve) =>
          setTimeout(
            () =>
              resolve({
                model: 'linear',
                version: '1',
                outputs: { y: { datatype: 'FP32', shape: [1, 1], data: new Float32Array([1]) } },
                batchSize: 1,
                queueMs: 0,
                computeMs: 20,
              }),
            20,
          ),
        ),
    } as unknown as InferenceEngine;
    const { createAdmission } = await import('../../src/scoring/admission.js');
    const admission = createAdmission({ maxConcurrent: 4, maxQueued: 16 });
    const running = await startOnLoopback({ engine, admission, requestTimeoutMs: 30_000 });
    try {
      const stream = running.client.stream();
      const ids = Array.from({ length: 100 }, (_, index) => `burst-${index}`);
      for (const id of ids) stream.write({ ...request, id });
      stream.end();
      const answers: Message[] = [];
      for (const _ of ids) answers.push(await stream.next());
      assert.equal((await stream.status).code, status.OK);
      const errors = answers.map((answer) => answer.error_message).filter((message) => message !== '');
      assert.deepEqual(errors, []);
      assert.deepEqual(answers.map((answer) => (answer.infer_response as Message).id).sort(), ids.sort());
    } finally {
      await running.stop();
    }
  });

  it('maps a full admission queue to RESOURCE_EXHAUSTED', async () => {
    const { BerthError } = await import('../../src/core/errors.js');
    const admission: Admission = {
      inFlight: 4,
      queued: 16,
      acquire: () => Promise.reject(new BerthError('TOO_MANY_REQUESTS', 'queue full: 16 requests waiting')),
      tryAcquire: () => undefined,
    };
    const running = await startOnLoopback({ engine: stuckEngine(), admission, requestTimeoutMs: 1_000 });
    try {
      await rejects(running.client.call('ModelInfer', request), status.RESOURCE_EXHAUSTED, /queue full/);
    } finally {
      await running.stop();
    }
  });
});
