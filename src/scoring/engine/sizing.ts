/**
 * How many worker threads to run. Each worker runs one inference at a time on `intraOpThreads`
 * ONNX Runtime threads, so workers × intra-op threads ≈ cores keeps every core busy without
 * oversubscribing them (oversubscribed ONNX thread pools spin and lose throughput). Examples on
 * 16 cores: 1 intra-op thread → 16 workers (throughput for small models); 4 → 4 workers;
 * 16 → 1 worker (lowest latency for one large model). Never fewer than 1.
 */
export function resolveWorkerCount(cores: number, intraOpThreads: number): number {
  const perWorker = Number.isFinite(intraOpThreads) && intraOpThreads >= 1 ? Math.floor(intraOpThreads) : 1;
  const available = Number.isFinite(cores) && cores >= 1 ? Math.floor(cores) : 1;
  return Math.max(1, Math.floor(available / perWorker));
}
