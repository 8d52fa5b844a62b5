/**
 * The real execution engine (worker threads, ONNX Runtime) and the real admission, for the gRPC
 * tests; admission is wrapped to count acquisitions, so tests can prove every ModelInfer passed it.
 */
import { createAdmission } from '../../src/scoring/admission.js';
import type { Admission, InferenceEngine, ModelToServe } from '../../src/scoring/engine.js';
import { createEngine } from '../../src/scoring/engine/index.js';
import { resolveScoringOptions } from '../../src/scoring/options.js';

export async function startEngine(models: ModelToServe[]): Promise<InferenceEngine> {
  return createEngine(resolveScoringOptions({ models, workers: 1, logLevel: 'silent' }).engine);
}

export function countingAdmission(): Admission & { acquired: number } {
  const inner = createAdmission({ maxConcurrent: 8, maxQueued: 32 });
  let acquired = 0;
  return {
    get inFlight() {
      return inner.inFlight;
    },
    get queued() {
      return inner.queued;
    },
    get acquired() {
      return acquired;
    },
    acquire(signal) {
      acquired += 1;
      return inner.acquire(signal);
    },
    tryAcquire() {
      const release = inner.tryAcquire();
      if (release !== undefined) acquired += 1;
      return release;
    },
  };
}
