/**
 * The state of a batch job's workers in the cluster, read from its Job and pods, pure: the Job's
 * own conditions (Failed with BackoffLimitExceeded or DeadlineExceeded, Complete), and else what
 * the pods say in the cluster's words (Unschedulable with the scheduler's message, ImagePullBackOff,
 * CrashLoopBackOff, OOMKilled…). `blocking` says whether the workers cannot run: `hard` for a
 * reason waiting will not clear, `soft` for one that may (a node may be added).
 */
import type { TargetWorkersState } from '../../batch/engine.js';
import { hardReasons, podProblem, type PodView } from './state.js';

interface JobCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface JobView {
  metadata?: { name?: string; namespace?: string };
  spec?: { completions?: number; parallelism?: number; completionMode?: string };
  status?: { active?: number; succeeded?: number; failed?: number; conditions?: JobCondition[] };
}

export interface BatchWorkersState extends TargetWorkersState {
  blocking: 'hard' | 'soft' | undefined;
}

function condition(job: JobView, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((entry) => entry.type === type && entry.status === 'True');
}

function podPhase(pod: PodView): string {
  if (pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null)
    return 'Terminating';
  const ready = pod.status?.conditions?.some((entry) => entry.type === 'Ready' && entry.status === 'True');
  return pod.status?.phase === 'Running' && ready !== true
    ? 'Running (not ready)'
    : (pod.status?.phase ?? 'Pending');
}

export function batchWorkersState(
  object: string,
  job: JobView | undefined,
  pods: readonly PodView[],
): BatchWorkersState {
  const workers = pods.map((pod) => {
    const problem = podProblem(pod);
    return {
      name: pod.metadata?.name ?? '(unnamed pod)',
      phase: podPhase(pod),
      reason: problem === undefined ? undefined : `${problem.reason}: ${problem.message}`.replace(/: $/, ''),
      hard: problem !== undefined && hardReasons.has(problem.reason),
    };
  });
  const view = (
    state: TargetWorkersState['state'],
    reason: string | undefined,
    blocking?: 'hard' | 'soft',
  ) => ({
    object,
    state,
    reason,
    pods: workers.map(({ hard: _hard, ...pod }) => pod),
    blocking,
  });
  if (job === undefined) return view('Absent', `${object} is not in the cluster`);
  const failed = condition(job, 'Failed');
  if (failed !== undefined) {
    return view('Failed', `${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.replace(/: $/, ''), 'hard');
  }
  if (condition(job, 'Complete') !== undefined) return view('Complete', undefined);
  const reasons = new Map<string, number>();
  for (const worker of workers) {
    if (worker.reason !== undefined) reasons.set(worker.reason, (reasons.get(worker.reason) ?? 0) + 1);
  }
  const summary =
    reasons.size === 0
      ? undefined
      : [...reasons].map(([reason, count]) => `${count} of ${workers.length} pod(s): ${reason}`).join('; ');
  const running = workers.filter((worker) => worker.phase === 'Running').length;
  if (running > 0) return view('Running', summary ?? `${running} of ${workers.length} worker pod(s) running`);
  if (summary === undefined) return view('Pending', `${workers.length} worker pod(s), none running yet`);
  return view('Pending', summary, workers.some((worker) => worker.hard) ? 'hard' : 'soft');
}
