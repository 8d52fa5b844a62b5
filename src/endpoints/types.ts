/**
 * The gateway's view of an endpoint, set by the control plane with `gateway.setEndpoint()`: its
 * keys, its traffic split and mirror, and for each deployment its limits and a synchronous view of
 * its replicas (a target's `currentReplicas(handle)`).
 */
import type { ReplicaStatus } from '../targets/target.js';

export type AuthMode = 'key' | 'none';

export interface EndpointKeys {
  primary: string;
  secondary: string | undefined;
}

export interface GatewayDeployment {
  name: string;
  requestSettings: { requestTimeoutMs: number; maxConcurrentRequestsPerInstance: number };
  instanceCount: number;
  /** Called on every request: the replicas as last observed (only `ready` ones with a url are used). */
  replicas: () => ReplicaStatus[];
  /**
   * With no ready replica: asks the target to start one (scale from zero) and resolves true once
   * one is ready, false after `timeoutMs`. Absent: the request is answered 503 at once.
   */
  awaitReplica?: (timeoutMs: number) => Promise<boolean>;
}

export interface EndpointConfig {
  name: string;
  /** 'key' (the default an endpoint spec gets) needs keys; 'none' must be chosen explicitly. */
  authMode: AuthMode;
  keys: EndpointKeys | undefined;
  /** Deployment name → percentage of live traffic; totals 0 or 100. */
  traffic: Record<string, number>;
  /** At most one deployment that takes no live traffic → percentage (≤ 50) of requests copied to it. */
  mirror: Record<string, number>;
  deployments: GatewayDeployment[];
}
