/**
 * The stand-in for a target kind whose adapter is not written yet: it declares the row's
 * capabilities (so the advisor and validation still speak about it) and refuses every operation
 * with NOT_IMPLEMENTED, pointing at the target that works today.
 */
import { BerthError } from '../core/errors.js';
import { targetCapabilities } from './capabilities.js';
import type {
  ComputeTarget,
  DeploymentHandle,
  DeploymentStatus,
  LogLine,
  TargetCapabilities,
  TargetKind,
} from './target.js';

export class NotImplementedTarget implements ComputeTarget {
  readonly capabilities: TargetCapabilities;

  constructor(readonly kind: TargetKind) {
    this.capabilities = targetCapabilities[kind];
  }

  private refuse(): BerthError {
    // The cluster row runs batch jobs (berth batch run --target cluster:…), never a real-time deployment.
    if (!this.capabilities.realtime && this.capabilities.implemented) {
      return new BerthError(
        'INVALID_SPEC',
        `target kind "${this.kind}" serves no real-time traffic: run batch jobs on it with ` +
          '`berth batch run --target cluster:redis://host:port`, and deploy endpoints to local or container',
      );
    }
    return new BerthError(
      'NOT_IMPLEMENTED',
      `target kind "${this.kind}" is not implemented yet; use local (see berth target recommend)`,
    );
  }

  deploy(): Promise<DeploymentHandle> {
    return Promise.reject(this.refuse());
  }

  update(): Promise<DeploymentHandle> {
    return Promise.reject(this.refuse());
  }

  status(): Promise<DeploymentStatus> {
    return Promise.reject(this.refuse());
  }

  logs(): AsyncIterable<LogLine> {
    const error = this.refuse();
    return {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
    };
  }

  remove(): Promise<void> {
    return Promise.reject(this.refuse());
  }

  /** Nothing is held, so closing always succeeds. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
