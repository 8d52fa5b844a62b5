/**
 * The one interface every compute target implements, and the capabilities each declares. The
 * advisor (`berth target recommend`), deploy-time validation and `berth target list` read the same
 * capabilities, so the guidance, the checks and the docs never disagree.
 *
 * What the contract covers: running one deployment (N replicas of the scoring server) on the
 * target, replacing it with no failed request (rolling), reporting state and logs, removing it.
 * What it leaves out on purpose: traffic between deployments, keys and admission (the endpoint
 * gateway's job), and persistence (the control plane stores specs and handles and redeploys them
 * after a restart). The adapter owns its clients, processes and connections and frees them in close().
 */
import type { Framework } from '../core/model.js';
import type { KubernetesDetails } from '../core/specs/kubernetes-view.js';
import type { DeploymentSettings, ResolvedProbe } from '../core/specs/settings.js';
import type { ModelSignature } from '../core/tensor.js';

export const targetKinds = [
  'local',
  'ssh',
  'container',
  'kubernetes',
  'cluster',
  'function',
  'edge',
] as const;
export type TargetKind = (typeof targetKinds)[number];

/** The kinds of work a target can serve: deployments behind endpoints, batch jobs, command jobs (training). */
export const workKinds = ['realtime', 'batch', 'jobs'] as const;
export type WorkKind = (typeof workKinds)[number];

/**
 * How a target serves one kind of work: `ready` (berth runs it there today), `planned` (the
 * target's design serves it, not built yet) or `no`.
 */
export type WorkSupport = 'ready' | 'planned' | 'no';

/** The stage of the work a target suits: the advisor ranks targets by it. */
export const deploymentStages = ['dev', 'test', 'production'] as const;
export type DeploymentStage = (typeof deploymentStages)[number];

export interface TargetCapabilities {
  /** What each kind of work is on this target today; the registry provides exactly the `ready` ones. */
  work: Readonly<Record<WorkKind, WorkSupport>>;
  /** Serves real-time requests behind an endpoint (today or once built): `work.realtime` is not `no`. */
  realtime: boolean;
  /** Real-time serving is per event (cold starts, the platform scales), not always-on replicas. */
  eventDriven: boolean;
  /** Runs batch jobs (today or once built): `work.batch` is not `no`. */
  batch: boolean;
  /** 'host': whatever the machine has; true: can request GPUs; false: CPU only. */
  gpu: boolean | 'host';
  /** Something adds and removes replicas or workers with the load (berth's autoscaler, or the platform's). */
  autoscale: boolean;
  /** Largest model the target accepts; undefined: no limit of its own. */
  maxModelBytes: number | undefined;
  maxMemoryBytes: number | undefined;
  /** Holds a replica (or a batch worker) to its resources.cpu and resources.memoryBytes. */
  enforcesResources: boolean;
  /** Keeps serving with no link to the control plane. */
  offline: boolean;
  usedFor: string;
  engine: string;
  /** The stages the target is meant for, best first. */
  stages: readonly DeploymentStage[];
  /** Some kind of work is `ready` on it; the others are planned. */
  implemented: boolean;
}

/** Probe settings in milliseconds, as the spec resolution (core/specs/settings.ts) fills them. */
export type ProbeSettings = ResolvedProbe;

/**
 * A deployment with every reference resolved and every default filled: what a target runs. The
 * settings part (instances, request settings, probes, environment, batching, resources, data
 * collection) is the spec's resolution, shared with core/specs/settings.ts.
 */
export interface ResolvedDeployment extends DeploymentSettings {
  endpointName: string;
  deploymentName: string;
  /** The target's name (e.g. `local`, or a name from `berth target create`). */
  target: string;
  model: {
    name: string;
    version: number;
    framework: Framework;
    /** Verified local files (the workspace's cache): a folder, and the served ONNX file inside it. */
    modelDir: string;
    modelFile: string | undefined;
    sha256: string;
    sizeBytes: number;
    signature: ModelSignature | null;
  };
  /** Absolute path of the scoring script; its folder is the code folder. */
  scoringScript: string | undefined;
  codeDir: string | undefined;
  /** `environment.conda_file`, resolved: a Python scoring script's requirements on the container target. */
  condaFile?: string;
}

/** What a target returns from deploy: JSON-serialisable, so the control plane can store it. */
export interface DeploymentHandle {
  target: string;
  kind: TargetKind;
  id: string;
  data: Record<string, unknown>;
}

export type DeploymentState = 'Creating' | 'Transitioning' | 'Healthy' | 'Unhealthy' | 'Failed' | 'Deleting';

export interface ReplicaStatus {
  id: string;
  /** Base URL of the replica's scoring server, e.g. http://127.0.0.1:41234 */
  url: string | undefined;
  state: 'starting' | 'ready' | 'unhealthy' | 'failed' | 'draining';
  restarts: number;
  reason: string | undefined;
  /**
   * The secret the replica's scoring server requires in `x-berth-replica-token` on every route but
   * health; the gateway adds it. Never shown: status views and handles leave it out.
   */
  token?: string;
}

export interface DeploymentStatus {
  state: DeploymentState;
  /** Why the state is not Healthy (e.g. the scoring script's init error). */
  reason: string | undefined;
  replicas: ReplicaStatus[];
  /** With scale_settings `target_utilization` on a target that autoscales: what the autoscaler did. */
  scaling?: ScalingStatus;
}

/** An autoscaled deployment: replicas now and wanted, and the last change with its reason. */
export interface ScalingStatus {
  /** Ready replicas now. */
  replicas: number;
  /** Replicas the autoscaler wants (serving + starting). */
  desired: number;
  minInstances: number;
  maxInstances: number;
  targetUtilizationPercentage: number;
  /** Mean utilization of the ready replicas at the last poll, percent. */
  utilization: number | undefined;
  /** The last change of `desired`: when (ISO 8601), from, to, and why. */
  lastDecision: { at: string; from: number; to: number; reason: string } | undefined;
  /** What the last poll concluded, also when it changed nothing. */
  lastPoll: string | undefined;
}

/**
 * What a target can tell about one deployment beyond its status, in its own engine's terms, read
 * when someone asks (`endpoint show`), never on a request's path.
 */
export interface DeploymentDetails {
  kubernetes?: KubernetesDetails;
}

export interface LogOptions {
  /** The last `lines` lines across all current replicas together, oldest first. */
  lines: number;
  /** Keep yielding new lines until `signal` aborts; aborting ends the iteration without an error. */
  follow: boolean;
  signal?: AbortSignal;
}

export interface LogLine {
  replica: string;
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export type Progress = (message: string) => void;

export interface ComputeTarget {
  readonly kind: TargetKind;
  readonly capabilities: TargetCapabilities;
  /**
   * Starts `instanceCount` replicas and resolves once all are ready. When a replica cannot start,
   * it rejects with the server's own error (a scoring script's failing `init` is RUN_FAILED with the
   * script's message); the deployment stays known to the target as Failed with that reason, under
   * the handle id `<endpoint>/<deployment>`, until remove().
   */
  deploy(spec: ResolvedDeployment, progress: Progress, signal?: AbortSignal): Promise<DeploymentHandle>;
  /**
   * Checks the deployment against this target without starting anything: throws INVALID_SPEC with
   * the reason when the target cannot run it (e.g. more replicas than it can hold), and returns
   * what it would ignore. deploy() and update() check the same first. Optional: a target without
   * it is checked by deploy().
   */
  validate?(spec: ResolvedDeployment): Promise<string[]>;
  /** Rolling: new replicas are ready before old ones drain. */
  update(handle: DeploymentHandle, spec: ResolvedDeployment, progress: Progress): Promise<DeploymentHandle>;
  status(handle: DeploymentHandle): Promise<DeploymentStatus>;
  logs(handle: DeploymentHandle, options: LogOptions): AsyncIterable<LogLine>;
  remove(handle: DeploymentHandle): Promise<void>;
  close(): Promise<void>;
  /**
   * The replicas as last observed, without I/O: what the endpoint gateway balances across on every
   * request. Optional: a target without it is polled through status().
   */
  currentReplicas?(handle: DeploymentHandle): ReplicaStatus[];
  /**
   * A request waits for a deployment with no ready replica: start one if it was scaled to zero.
   * Resolves true once a replica is ready, false after `timeoutMs` or when the deployment does not
   * scale (nothing will start). Optional: a target without it never scales to zero.
   */
  awaitReplica?(handle: DeploymentHandle, timeoutMs: number): Promise<boolean>;
  /**
   * The deployment as its engine sees it (for a person reading `endpoint show`): more reads than
   * status(), so it is never called on a request's path. A target with details() finds a
   * deployment by its handle id alone (`<endpoint>/<deployment>`), so a deployment whose deploy
   * failed (no handle stored) is described, and removed, under that id. Optional.
   */
  details?(handle: DeploymentHandle): Promise<DeploymentDetails>;
  /**
   * Told of every change of an endpoint's routing (traffic, mirror, keys, its deployments), and
   * with `undefined` once the endpoint is gone: for a target that routes the endpoint's traffic in
   * a place of its own as well (the Kubernetes target's in-cluster gateway). Optional: the other
   * targets are routed by the control plane's gateway alone.
   */
  routeEndpoint?(endpoint: string, routing: EndpointRouting | undefined): Promise<void>;
}

/** An endpoint's routing, as the control plane's gateway holds it, for `routeEndpoint`. */
export interface EndpointRouting {
  authMode: 'key' | 'none';
  keys: { primary: string; secondary: string | undefined } | undefined;
  /** Deployment name → percentage of live traffic. */
  traffic: Record<string, number>;
  mirror: Record<string, number>;
  deployments: {
    name: string;
    /** The target's name the deployment runs on (a target routes only its own). */
    target: string;
    /** Whether the target has deployed it (it has a handle); false while it is first created. */
    deployed: boolean;
    requestTimeoutMs: number;
    maxConcurrentRequestsPerInstance: number;
    instanceCount: number;
  }[];
}
