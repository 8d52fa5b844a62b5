/**
 * The contract between the batch coordinator (plans mini-batches, retries, thresholds, output) and
 * the engines that execute them: `embedded` (worker processes on this machine) and `cluster`
 * (BullMQ queues on Redis, workers on any machine). An engine runs ONE attempt of a mini-batch and
 * reports its outcome; retry policy, thresholds and exactly-once output stay in the coordinator, so
 * every engine gets them for free. A Kubernetes Indexed Job engine (src/targets/kubernetes/batch-engine.ts) implements the same contract.
 * Which engine a job uses is its target's batch facet in the one target registry
 * (src/targets/registry.ts). The engine owns its processes and connections and releases them in
 * close().
 */
import { BerthError } from '../core/errors.js';

/** What an engine rejects with when the coordinator aborts an attempt: the signal's own reason. */
export function attemptAbortError(signal: AbortSignal | undefined): Error {
  return signal?.reason instanceof Error
    ? signal.reason
    : new BerthError('SHUTTING_DOWN', 'the attempt was aborted');
}

/** One unit of input, with the key that says where it came from. */
export type BatchItem =
  | { kind: 'file'; key: string; path: string }
  | { kind: 'row'; key: string; source: string; row: number; value: Record<string, unknown> };

/** A deterministic, serialisable description of a mini-batch: planning twice gives the same list. */
export type MiniBatchPlan =
  | { index: number; kind: 'files'; paths: string[] }
  | {
      index: number;
      kind: 'rows';
      source: string;
      format: 'csv' | 'jsonl' | 'parquet';
      /** Rows [firstRow, firstRow + rowCount) of `source`, 0-based, header excluded. */
      firstRow: number;
      rowCount: number;
      /**
       * Optional (added for the embedded engine; engines pass it through untouched): the bytes
       * [start, end) of `source` holding exactly these rows, so a worker reads a slice instead of
       * re-parsing the file from its start. Absent when the planner could not prove the slice clean
       * (e.g. a CSV with a malformed quote); readers then parse from the start and count rows.
       */
      byteRange?: { start: number; end: number };
    };

/** What a worker needs to run the user's code, resolved from the job definition. */
export interface BatchProgramSpec {
  /** Absolute path of the entry script exporting init(ctx) and run(miniBatch, ctx); undefined → built-in ONNX scoring. */
  scoringScript: string | undefined;
  /** Model files as on the submitting machine, with their sha256 so a remote worker can fetch and verify them. */
  model:
    | {
        name: string;
        version: number;
        sha256: string;
        kind: 'file' | 'folder';
        fileName: string;
        modelFile: string | undefined;
        /**
         * Optional (additive): where the verified files already are on the submitting machine. A worker
         * on that machine uses them as they are; a remote worker ignores them and fetches by sha256.
         */
        local?: { modelDir: string; modelFile: string | undefined };
      }
    | undefined;
  environmentVariables: Record<string, string>;
  loggingLevel: 'debug' | 'info' | 'warning' | 'error';
}

export interface MiniBatchTask {
  jobId: string;
  attempt: number;
  plan: MiniBatchPlan;
  program: BatchProgramSpec;
  /** Milliseconds one attempt may take before it is abandoned (retry_settings.timeout). */
  timeoutMs: number;
}

/** One result row: the item's key and what `run` returned for it. */
export interface ResultRow {
  key: string;
  value: unknown;
}

export interface MiniBatchOutcome {
  index: number;
  attempt: number;
  worker: string;
  durationMs: number;
  status: 'succeeded' | 'failed';
  /** Results for the items that succeeded, in input order. */
  rows: ResultRow[];
  /** Items that failed individually (unreadable file, bad row, missing result). */
  failedItems: { key: string; error: string }[];
  /** Set when the whole attempt failed (run threw, timed out, worker died). */
  error:
    | {
        code: string;
        message: string;
        /**
         * Optional (additive): where the attempt failed. `init` (the script's init() or the model
         * load failed) lets the coordinator stop a job whose every worker fails to start, instead of
         * burning every mini-batch's retries on the same error.
         */
        phase?: 'init' | 'run';
      }
    | undefined;
}

/** The outcome of an attempt that failed as a whole, on `worker`, begun at `started` (ms). */
export function failedAttempt(
  task: { plan: { index: number }; attempt: number },
  worker: string,
  started: number,
  error: { code: string; message: string; phase: 'init' | 'run' },
): MiniBatchOutcome {
  return {
    index: task.plan.index,
    attempt: task.attempt,
    worker,
    durationMs: Date.now() - started,
    status: 'failed',
    rows: [],
    failedItems: [],
    error,
  };
}

/** Optional callbacks an engine calls while an attempt runs; an engine may ignore them. */
export interface ExecuteHooks {
  /**
   * The attempt was handed to a worker and runs from now on (an attempt the engine still holds has
   * not started): lets `status` show who runs what and count what runs (and tests find the pid).
   * `undefined`: a worker took it, and which one is told by a later call, if the attempt runs long
   * enough for that to matter (the cluster engine names the worker after about 100 ms).
   */
  onStarted?(worker: { name: string; pid: number | undefined; host: string | undefined } | undefined): void;
}

/** One line a worker logged (the user's console output, or berth's own worker messages). */
export interface WorkerLogLine {
  worker: string;
  stream: 'stdout' | 'stderr' | 'berth';
  line: string;
}

/**
 * What the coordinator gives an engine factory. The coordinator owns the job folder; an engine
 * reports worker output through `log` (it lands in `<job>/logs/<worker>.log`) rather than writing
 * files there itself, so a cluster engine needs no access to the submitting machine's disk.
 */
export interface BatchEngineContext {
  jobId: string;
  /**
   * The job's target as it was named (`local`, `batch-cluster`), for messages. The engine's own
   * settings (a cluster's Redis and queue prefix) are bound into its factory by the target registry.
   */
  target: string;
  instanceCount: number;
  maxConcurrencyPerInstance: number;
  /** Device ids to spread over worker processes (one per process, via CUDA_VISIBLE_DEVICES); undefined: leave unset. */
  gpus: string[] | undefined;
  program: BatchProgramSpec;
  log(line: WorkerLogLine): void;
}

export type BatchEngineKind = 'embedded' | 'cluster' | 'ssh' | 'kubernetes';

/**
 * What a target that runs its workers as objects of its own (a Kubernetes Job) says about them,
 * read from the target when `status` is asked: the object, its state and the reason in the
 * target's own words (e.g. `Unschedulable: 0/3 nodes are available`), and each worker pod.
 */
export interface TargetWorkersState {
  /** `Job ml/berth-batch-…`. */
  object: string;
  state: 'Pending' | 'Running' | 'Complete' | 'Failed' | 'Absent' | 'Unknown';
  reason: string | undefined;
  pods: { name: string; phase: string; reason: string | undefined }[];
}

/** Builds an engine for one job; the coordinator calls close() when the job stops. */
export type BatchEngineFactory = (context: BatchEngineContext) => Promise<BatchEngine>;

export interface BatchEngine {
  readonly kind: BatchEngineKind;
  /**
   * Runs one attempt; resolves with its outcome (never rejects for user errors: those are outcomes).
   * The coordinator calls this for more attempts than the engine runs at once (`attemptsInFlight`):
   * the engine holds the extra ones without starting them or their timeout, and starts one as soon
   * as a slot frees, so no slot waits for the coordinator between mini-batches.
   * An aborted signal means the coordinator no longer wants the attempt (cancel, threshold): the
   * engine stops it as it can and resolves or rejects promptly; the outcome is then ignored.
   * `hooks` is optional and additive: an engine that never calls it is still correct.
   */
  execute(task: MiniBatchTask, signal?: AbortSignal, hooks?: ExecuteHooks): Promise<MiniBatchOutcome>;
  close(): Promise<void>;
}
