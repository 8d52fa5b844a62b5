/**
 * The real-time stand-in for a target kind that serves no real-time traffic today: it declares
 * the row's capabilities (so the advisor and validation still speak about it) and refuses every
 * operation: NOT_IMPLEMENTED for a kind whose real-time serving is planned, INVALID_SPEC for one
 * that runs batch jobs only, each pointing at what works today.
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
import { targetKinds } from './target.js';

export class NotImplementedTarget implements ComputeTarget {
  readonly capabilities: TargetCapabilities;

  constructor(readonly kind: TargetKind) {
    this.capabilities = targetCapabilities[kind];
  }

  private refuse(): BerthError {
    const ready = targetKinds.filter((kind) => targetCapabilities[kind].work.realtime === 'ready');
    // The cluster row runs batch jobs (berth batch run --target NAME), never a real-time deployment.
    if (this.capabilities.work.realtime === 'no') {
      return new BerthError(
        'INVALID_SPEC',
        `target kind "${this.kind}" serves no real-time traffic: run batch jobs on it with ` +
          '`berth batch run --target NAME` (or cluster:redis://host:port), and deploy endpoints to ' +
          `${ready.join(' or ')}`,
      );
    }
    return new BerthError(
      'NOT_IMPLEMENTED',
      `target kind "${this.kind}" is planned, not implemented yet; use ${ready.join(' or ')} (see berth target recommend)`,
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
