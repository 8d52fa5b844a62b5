/**
 * Where a model's tensor inference runs: on the main thread ("inline") or on the worker threads.
 *
 * Every run sent to a worker pays a round trip: the message is structured-cloned and posted, both
 * threads wake up, and a reply comes back through a promise chain. Profiling the server on the
 * 3-float linear model showed `postMessage` alone taking a quarter of the main thread's CPU, more
 * than the model itself: for a model that computes in microseconds, the hop is the cost. Running
 * such a model on the main thread costs the event loop less than handing it off does, and removes
 * the hop's latency. A heavier model stays on workers, so its compute runs on other cores beside
 * the HTTP work, and with a scoring script deployed everything stays on workers, so user code
 * keeps its isolation ('always' overrides that for tensor inference, which never runs the script).
 */
import type { EngineOptions, ModelToServe } from '../engine.js';

export function runsInline(
  execution: EngineOptions['execution'],
  framework: ModelToServe['framework'],
  hasScript: boolean,
  /** The fastest warm-up run a worker measured, ms; undefined when warm-up failed. */
  runMs: number | undefined,
): boolean {
  if (framework !== 'onnx' || execution.inline === 'never') return false;
  if (execution.inline === 'always') return true;
  return !hasScript && runMs !== undefined && runMs <= execution.inlineMaxRunMs;
}
