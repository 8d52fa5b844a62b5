/**
 * A fake replica and factory for the shared supervisor's tests: each replica's start is settled by
 * the test, and every start, drain and stop is written to one event list, so the order of a
 * rolling update can be checked without processes or containers.
 */
import type { ManagedReplica, ReplicaFactory } from '../../src/targets/shared/replica.js';
import type { ReplicaStatus, ResolvedDeployment } from '../../src/targets/target.js';
import { deploymentSpec } from './helpers.js';

export class FakeReplica implements ManagedReplica {
  restarts = 0;
  state: ReplicaStatus['state'] = 'starting';
  reason: string | undefined;
  stoppedWith: number | undefined;
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(
    readonly id: string,
    private readonly events: string[],
  ) {}

  start(): Promise<void> {
    this.events.push(`start ${this.id}`);
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  ready(): void {
    this.state = 'ready';
    this.events.push(`ready ${this.id}`);
    this.settle?.resolve();
  }

  failStart(error: Error): void {
    this.state = 'failed';
    this.reason = error.message;
    this.settle?.reject(error);
  }

  beginDrain(): void {
    this.state = 'draining';
    this.events.push(`drain ${this.id}`);
  }

  async stop(graceMs: number): Promise<void> {
    if (this.stoppedWith !== undefined) return;
    this.stoppedWith = graceMs;
    this.state = 'draining';
    this.events.push(`stop ${this.id} ${graceMs}`);
  }

  status(): ReplicaStatus {
    return {
      id: this.id,
      url: `fake://${this.id}`,
      state: this.state,
      restarts: this.restarts,
      reason: this.reason,
    };
  }
}

export class FakeReplicas implements ReplicaFactory<FakeReplica, string> {
  readonly noun = 'replica';
  readonly switchGraceMs = 0;
  readonly events: string[] = [];
  /** Every generation's replicas, by generation number. */
  readonly generations = new Map<number, FakeReplica[]>();
  readonly recorded: string[][] = [];
  removedCalls = 0;

  constructor(readonly preparing?: string) {}

  create(spec: ResolvedDeployment, generation: number): FakeReplica[] {
    const replicas = Array.from(
      { length: spec.instanceCount },
      (_, index) => new FakeReplica(`${spec.deploymentName}-${generation}-${index}`, this.events),
    );
    this.generations.set(generation, replicas);
    return replicas;
  }

  source(version: string): string {
    return version;
  }

  drainGraceMs(spec: ResolvedDeployment): number {
    return spec.requestSettings.requestTimeoutMs;
  }

  abandonGraceMs(): number {
    return 0;
  }

  record(alive: readonly FakeReplica[]): void {
    this.recorded.push(alive.map((replica) => replica.id));
  }

  async removed(): Promise<void> {
    this.removedCalls += 1;
  }

  /** The replicas of one generation; throws if it was never created. */
  generation(number: number): FakeReplica[] {
    const replicas = this.generations.get(number);
    if (replicas === undefined) throw new Error(`no generation ${number}`);
    return replicas;
  }
}

/** A spec with just what the supervisor reads: names, instance count, request timeout. */
export function fakeSpec(instanceCount: number, requestTimeoutMs = 1000): ResolvedDeployment {
  const model = {
    name: 'm',
    version: 1,
    framework: 'onnx' as const,
    modelDir: '/nowhere',
    modelFile: undefined,
    sha256: '0'.repeat(64),
    sizeBytes: 1,
    signature: null,
  };
  return deploymentSpec(model, {
    target: 'fake',
    instanceCount,
    requestSettings: { requestTimeoutMs, maxConcurrentRequestsPerInstance: 1, maxQueueWaitMs: 0 },
  });
}

/** Lets pending promise callbacks run (the supervisor's awaits between steps). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
