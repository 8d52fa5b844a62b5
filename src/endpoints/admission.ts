/**
 * Admission per deployment: at most `2 × maxConcurrentRequestsPerInstance × instanceCount`
 * requests in flight through the gateway (the replicas queue the second half); the rest are
 * refused with 429 at once, never queued in the gateway.
 */
import { BerthError } from '../core/errors.js';
import type { GatewayDeployment } from './types.js';

export class DeploymentAdmission {
  inFlight = 0;
  rejected = 0;
  private limit = 0;
  private why = '';

  constructor(deployment: GatewayDeployment) {
    this.configure(deployment);
  }

  /** Limits change with the deployment (a scale or an update); requests in flight stay counted. */
  configure(deployment: GatewayDeployment): void {
    const perInstance = deployment.requestSettings.maxConcurrentRequestsPerInstance;
    this.limit = 2 * perInstance * deployment.instanceCount;
    this.why = `deployment "${deployment.name}" has ${this.limit} requests in flight, its limit (2 × max_concurrent_requests_per_instance ${perInstance} × instance_count ${deployment.instanceCount})`;
  }

  get capacity(): number {
    return this.limit;
  }

  /** Takes a slot or throws TOO_MANY_REQUESTS; the caller must release() a slot it took. */
  acquire(): void {
    if (this.inFlight >= this.limit) {
      this.rejected += 1;
      throw new BerthError('TOO_MANY_REQUESTS', `${this.why}: retry later`);
    }
    this.inFlight += 1;
  }

  tryAcquire(): boolean {
    if (this.inFlight >= this.limit) return false;
    this.inFlight += 1;
    return true;
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }
}
