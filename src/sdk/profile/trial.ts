/**
 * The trial replica a profile measures, whatever runs it: a scoring server on this machine
 * (trial-server.ts) or a container on a Docker Engine (trial-container.ts). Each run of a profile
 * starts one with its own max_batch_size and stops it before the next.
 */

/** One reading of the replica's resources. */
export interface ResourceSample {
  /** Memory in use now: the process's RSS, or the container's usage less its inactive file cache. */
  memoryBytes: number;
  /** The highest memory the source itself recorded (VmHWM); undefined where it keeps none. */
  peakMemoryBytes: number | undefined;
  /** CPU time used since the replica started. */
  cpuSeconds: number;
}

export interface TrialOptions {
  /** The most requests the load sends at once: the replica admits and queues that many. */
  maxConcurrency: number;
  /** 1 is batching off. */
  maxBatchSize: number;
}

export interface TrialReplica {
  url: string;
  /** Headers every request to the replica carries (a container replica's token). */
  headers: Record<string, string>;
  /** undefined where the resources cannot be read. */
  sample(): Promise<ResourceSample | undefined>;
  stop(): Promise<void>;
}

/** Where trial replicas run: the target's name, its cores, and how to start one. */
export interface TrialSite {
  target: string;
  /** Cores of the machine the replica runs on (the engine's, for a container target). */
  cores: number;
  /** How memory is read, for the recommendation's rule. */
  memorySource: string;
  start(options: TrialOptions): Promise<TrialReplica>;
  close(): Promise<void>;
}
