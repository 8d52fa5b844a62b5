/**
 * What `endpoint show` reports for a deployment on a Kubernetes target, read from the objects the
 * cluster writes (shapes as kube-apiserver 1.20 and later serve them): the autoscaler in
 * autoscaling/v2beta2 and v1 (conditions in an annotation), pods with restarts and the last
 * termination (OOMKilled), events old-style (count, lastTimestamp) and new-style (series,
 * eventTime), the bound on events, and the text the CLI prints from it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, describeKubernetes } from '../../src/cli/commands/endpoint-kubernetes.js';
import { kubernetesDetailsSchema } from '../../src/core/specs/index.js';
import {
  autoscalerOf,
  eventOf,
  kubernetesDetails,
  podOf,
  recentEvents,
  type EventObject,
  type InspectedPod,
} from '../../src/targets/kubernetes/inspection.js';

const hpaV2beta2 = {
  apiVersion: 'autoscaling/v2beta2',
  metadata: { name: 'shop-blue' },
  spec: {
    minReplicas: 1,
    maxReplicas: 4,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
      },
    ],
  },
  status: {
    currentReplicas: 2,
    desiredReplicas: 2,
    conditions: [
      {
        type: 'AbleToScale',
        status: 'True',
        reason: 'SucceededGetScale',
        message: "the HPA controller was able to get the target's current scale",
      },
      {
        type: 'ScalingActive',
        status: 'False',
        reason: 'FailedGetResourceMetric',
        message: 'the HPA was unable to compute the replica count: unable to get metrics for resource cpu',
      },
    ],
  },
};

const oomPod: InspectedPod = {
  metadata: { name: 'shop-blue-5d8f-b' },
  spec: { nodeName: 'node-1' },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [
      {
        ready: true,
        restartCount: 3,
        state: {},
        lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-01-01T10:00:00Z' } },
      },
    ],
  },
};

const pendingPod: InspectedPod = {
  metadata: { name: 'shop-blue-5d8f-a' },
  status: {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: 'no nodes available to schedule pods',
      },
    ],
  },
};

describe('kubernetes deployment details for endpoint show', () => {
  it('reads an autoscaling/v2beta2 HPA: replicas, CPU target, no reading, the conditions the controller set', () => {
    const hpa = autoscalerOf(hpaV2beta2);
    assert.equal(hpa.apiVersion, 'autoscaling/v2beta2');
    assert.deepEqual(
      [hpa.minReplicas, hpa.maxReplicas, hpa.currentReplicas, hpa.desiredReplicas],
      [1, 4, 2, 2],
    );
    assert.equal(hpa.targetCpuUtilization, 60);
    assert.equal(hpa.currentCpuUtilization, null);
    assert.deepEqual(
      hpa.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`),
      ['AbleToScale=True:SucceededGetScale', 'ScalingActive=False:FailedGetResourceMetric'],
    );
    const measured = autoscalerOf({
      ...hpaV2beta2,
      status: {
        ...hpaV2beta2.status,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 85 } } },
        ],
      },
    });
    assert.equal(measured.currentCpuUtilization, 85);
  });

  it('reads an autoscaling/v1 HPA, whose conditions are an annotation', () => {
    const hpa = autoscalerOf({
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: 'shop-blue',
        annotations: {
          'autoscaling.alpha.kubernetes.io/conditions': JSON.stringify([
            {
              type: 'ScalingActive',
              status: 'False',
              reason: 'FailedGetResourceMetric',
              message: 'no metrics',
            },
          ]),
        },
      },
      spec: { minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70 },
      status: { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 95 },
    });
    assert.equal(hpa.targetCpuUtilization, 70);
    assert.equal(hpa.currentCpuUtilization, 95);
    assert.equal(hpa.conditions[0]?.reason, 'FailedGetResourceMetric');
    const broken = autoscalerOf({
      apiVersion: 'autoscaling/v1',
      metadata: { annotations: { 'autoscaling.alpha.kubernetes.io/conditions': '{not json' } },
    });
    assert.deepEqual(broken.conditions, []);
  });

  it('gives each pod its phase, readiness, restarts and last termination', () => {
    const running = podOf(oomPod);
    assert.equal(running.phase, 'Running');
    assert.equal(running.ready, true);
    assert.equal(running.restarts, 3);
    assert.equal(running.node, 'node-1');
    assert.deepEqual(running.lastTermination, {
      reason: 'OOMKilled',
      exitCode: 137,
      finishedAt: '2026-01-01T10:00:00Z',
    });
    const pending = podOf(pendingPod);
    assert.equal(pending.phase, 'Pending');
    assert.equal(pending.ready, false);
    assert.equal(pending.node, null);
    assert.equal(pending.reason, 'Unschedulable: no nodes available to schedule pods');
    assert.equal(pending.lastTermination, null);
    const crashing = podOf({
      metadata: { name: 'p', deletionTimestamp: '2026-01-01T10:00:00Z' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s' } },
            lastState: { terminated: { exitCode: 1, finishedAt: '2026-01-01T09:00:00Z' } },
          },
        ],
      },
    });
    assert.equal(crashing.phase, 'Terminating');
    assert.match(crashing.reason ?? '', /^CrashLoopBackOff: back-off 5m0s/);
    assert.deepEqual(crashing.lastTermination, {
      reason: 'Error',
      exitCode: 1,
      finishedAt: '2026-01-01T09:00:00Z',
    });
  });

  it('reads events written as core/v1 (count, lastTimestamp) and through events.k8s.io/v1 (series, eventTime)', () => {
    const old = eventOf({
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: 'Scaled up replica set shop-blue-5d8f to 2',
      count: 1,
      firstTimestamp: '2026-01-01T10:00:00Z',
      lastTimestamp: '2026-01-01T10:00:00Z',
      involvedObject: { kind: 'Deployment', name: 'shop-blue' },
    });
    assert.deepEqual(old, {
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      object: 'Deployment/shop-blue',
      message: 'Scaled up replica set shop-blue-5d8f to 2',
      count: 1,
      firstSeen: '2026-01-01T10:00:00.000Z',
      lastSeen: '2026-01-01T10:00:00.000Z',
    });
    const scheduler = eventOf({
      type: 'Warning',
      reason: 'FailedScheduling',
      message: 'no nodes available to schedule pods',
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: '2026-01-01T10:00:01.123456Z',
      series: { count: 4, lastObservedTime: '2026-01-01T10:05:00.000000Z' },
      involvedObject: { kind: 'Pod', name: 'shop-blue-5d8f-a' },
    });
    assert.equal(scheduler.count, 4);
    assert.equal(scheduler.firstSeen, '2026-01-01T10:00:01.123Z');
    assert.equal(scheduler.lastSeen, '2026-01-01T10:05:00.000Z');
  });

  it('keeps the most recent events, oldest first, and counts those left out', () => {
    const events: EventObject[] = Array.from({ length: 13 }, (_, i) => ({
      reason: `R${i}`,
      lastTimestamp: new Date(Date.UTC(2026, 0, 1, 10, 0, 13 - i)).toISOString(),
      involvedObject: { kind: 'Pod', name: 'p' },
    }));
    const { events: kept, leftOut } = recentEvents(events, 10);
    assert.equal(kept.length, 10);
    assert.equal(leftOut, 3);
    assert.deepEqual(
      kept.map((event) => event.reason),
      ['R9', 'R8', 'R7', 'R6', 'R5', 'R4', 'R3', 'R2', 'R1', 'R0'],
    );
  });

  it('puts it together in the view shape, and prints it', () => {
    const details = kubernetesDetails({
      namespace: 'ml',
      name: 'shop-blue',
      deployment: {
        spec: { replicas: 2 },
        status: {
          replicas: 2,
          updatedReplicas: 2,
          readyReplicas: 1,
          availableReplicas: 1,
          conditions: [
            {
              type: 'Available',
              status: 'False',
              reason: 'MinimumReplicasUnavailable',
              message: 'Deployment does not have minimum availability.',
            },
          ],
        },
      },
      hpa: hpaV2beta2,
      pods: [oomPod, pendingPod],
      events: [
        {
          type: 'Warning',
          reason: 'FailedScheduling',
          message: 'no nodes available\nto schedule pods',
          series: { count: 3, lastObservedTime: '2026-01-01T10:05:00Z' },
          eventTime: '2026-01-01T10:00:00Z',
          involvedObject: { kind: 'Pod', name: 'shop-blue-5d8f-a' },
        },
      ],
    });
    assert.deepEqual(kubernetesDetailsSchema.parse(details), details);
    assert.deepEqual(details.replicas, { desired: 2, ready: 1, updated: 2, available: 1 });
    assert.deepEqual(
      details.pods.map((pod) => pod.name),
      ['shop-blue-5d8f-a', 'shop-blue-5d8f-b'],
    );
    const text = describeKubernetes(details, Date.parse('2026-01-01T10:06:00Z')).join('\n');
    assert.match(text, /replicas: +1 ready \/ 2 desired \(2 updated, 1 available\)/);
    assert.match(
      text,
      /Available +False +MinimumReplicasUnavailable +Deployment does not have minimum availability\./,
    );
    assert.match(
      text,
      /autoscaler: HorizontalPodAutoscaler shop-blue \(autoscaling\/v2beta2\): 2 current \/ 2 desired \(min 1, max 4\)/,
    );
    assert.match(text, /cpu no reading now \/ 60% target; last scaled never/);
    assert.match(text, /ScalingActive +False +FailedGetResourceMetric +the HPA was unable/);
    assert.match(
      text,
      /shop-blue-5d8f-a +Pending +no +0 +- +- +Unschedulable: no nodes available to schedule pods/,
    );
    assert.match(text, /shop-blue-5d8f-b +Running +yes +3 +OOMKilled \(exit 137\) 6m ago +node-1/);
    assert.match(text, /events \(1, oldest first\):/);
    assert.match(
      text,
      /60s +Warning +FailedScheduling +Pod\/shop-blue-5d8f-a +3 +no nodes available to schedule pods/,
    );

    const gone = kubernetesDetails({
      namespace: 'ml',
      name: 'x',
      deployment: undefined,
      hpa: undefined,
      pods: [],
      events: [],
    });
    const goneText = describeKubernetes(gone).join('\n');
    assert.match(goneText, /the Deployment is not in the cluster/);
    assert.match(goneText, /autoscaler: none/);
    assert.match(goneText, /events: +none/);
  });

  it('prints ages as kubectl does', () => {
    const now = Date.parse('2026-01-03T00:00:00Z');
    assert.equal(age('2026-01-02T23:59:15Z', now), '45s');
    assert.equal(age('2026-01-02T23:30:00Z', now), '30m');
    assert.equal(age('2026-01-02T19:00:00Z', now), '5h');
    assert.equal(age('2025-12-30T00:00:00Z', now), '4d');
    assert.equal(age(null, now), '-');
  });
});
