/**
 * What each target does with each setting of a deployment, so that none is dropped silently. Every
 * field of the deployment spec is one of: metadata the control plane keeps; a field resolved into
 * the `ResolvedDeployment` a target runs (`resolvedFrom`); or a field with a rule naming the target
 * kinds that honour it (`deploymentFieldRules`). Every field of the resolved deployment says, per
 * target kind, whether the target reads it, ignores it (with the warning's reason), or leaves it
 * to the deploy-time check against the capabilities table (targets/validate.ts: resource limits,
 * GPUs). test/specs/applicability.test.ts walks the spec schema and a resolved deployment and fails
 * on a field this file does not place, for every kind whose real-time serving is ready.
 *
 * A field set in the YAML that the chosen target ignores is reported as a warning naming the field,
 * its line and the reason: an Azure file keeps working, and the user learns what berth does not do
 * with it. The kinds are the target kinds' names (core cannot import the targets layer); the
 * targets' capabilities table is the source of these facts.
 */
import type { SpecIssue, SpecPath } from '../yaml.js';
import { formatSpecPath } from '../yaml.js';

interface FieldRule {
  /** Target kinds that honour the field. */
  honouredBy: readonly string[];
  /** Why it is ignored: one reason, or one per kind (`*` for the others). */
  why: string | Readonly<Record<string, string>>;
}

const everywhere: readonly string[] = [];

export const deploymentFieldRules: Record<string, FieldRule> = {
  instance_type: {
    honouredBy: ['kubernetes', 'cluster'],
    why: 'replicas run where the target puts them; size them with resources',
  },
  scale_settings: {
    honouredBy: ['kubernetes', 'local', 'container', 'ssh'],
    why: {
      function:
        "the function host scales by the target's own settings (maxInstances, idleTimeoutMs: berth target create)",
      '*': 'the target does not autoscale: instance_count replicas are kept',
    },
  },
  environment: {
    honouredBy: ['kubernetes'],
    why: {
      container:
        "the image is built from the target's base image (berth target create --base-image, default node:20-bookworm-slim) with berth's scoring server: an Azure environment's image is not used (for a Python scoring script, its conda_file's dependencies are installed from this machine's Debian packages)",
      function:
        "a function package runs on the platform's Node.js runtime (here, this machine's): an Azure environment's image and conda file are not used",
      '*': "replicas run berth's scoring server on this machine's Node.js, not in an image",
    },
  },
  'request_settings.max_queue_wait_ms': {
    honouredBy: everywhere,
    // The replica's deadline starts when the request arrives, before it waits for a slot.
    why: 'a queued request waits at most request_timeout_ms, which counts the time in the queue (Azure deprecated max_queue_wait_ms for the same reason)',
  },
  'liveness_probe.success_threshold': {
    honouredBy: everywhere,
    why: 'one successful liveness probe counts as alive (as in Kubernetes, where it must be 1)',
  },
  app_insights_enabled: {
    honouredBy: everywhere,
    why: 'berth has no Application Insights: use `berth deployment logs` and the /metrics route',
  },
  egress_public_network_access: {
    honouredBy: everywhere,
    why: 'berth does not restrict outbound network access',
  },
  model_mount_path: {
    honouredBy: everywhere,
    why: 'the scoring script gets the model folder as ctx.modelDir',
  },
  'data_collector.rolling_rate': {
    honouredBy: everywhere,
    why: 'collected data rotates by size, not by time',
  },
  'data_collector.request_logging': {
    honouredBy: everywhere,
    why: 'request logging is not collected',
  },
  properties: { honouredBy: everywhere, why: 'kept by Azure only' },
};

export const endpointFieldRules: Record<string, FieldRule> = {
  compute: { honouredBy: everywhere, why: 'the target is chosen with `target:` (default local)' },
  identity: { honouredBy: everywhere, why: 'berth endpoints have no managed identity' },
  public_network_access: {
    honouredBy: everywhere,
    why: 'the gateway listens where `berth server` binds it (loopback by default)',
  },
  kind: { honouredBy: everywhere, why: 'kept by Azure only' },
};

/** Spec fields that describe the deployment rather than run it: the control plane keeps them. */
export const deploymentMetadataFields: Readonly<Record<string, string>> = {
  $schema: 'names the schema for editors',
  name: 'the deployment name',
  endpoint_name: 'the endpoint it sits behind',
  description: 'kept and shown',
  tags: 'kept and shown',
  // `type: kubernetes` is checked against the target's kind by deploymentFieldWarnings.
  type: "Azure's deployment kind, compared with the target's",
};

/** Spec field → the resolved deployment's fields it becomes (settings.ts, targets/resolve-deployment.ts). */
export const resolvedFrom: Readonly<Record<string, readonly string[]>> = {
  model: ['model'],
  code_configuration: ['scoringScript', 'codeDir'],
  environment_variables: ['environmentVariables'],
  instance_count: ['instanceCount'],
  'request_settings.request_timeout_ms': ['requestSettings.requestTimeoutMs'],
  'request_settings.max_concurrent_requests_per_instance': [
    'requestSettings.maxConcurrentRequestsPerInstance',
  ],
  'liveness_probe.initial_delay': ['livenessProbe.initialDelayMs'],
  'liveness_probe.period': ['livenessProbe.periodMs'],
  'liveness_probe.timeout': ['livenessProbe.timeoutMs'],
  'liveness_probe.failure_threshold': ['livenessProbe.failureThreshold'],
  readiness_probe: ['readinessProbe'],
  'resources.requests': ['resources'],
  'resources.limits': ['resources'],
  'data_collector.collections': ['dataCollection.enabled'],
  'data_collector.sampling_rate': ['dataCollection.samplingRate'],
  target: ['target'],
  batching: ['batching'],
};

/** What a target does with one field of the resolved deployment. */
export type FieldUse =
  | { use: 'read'; by: string }
  | { use: 'ignored'; why: string }
  /** targets/validate.ts compares it with the target's row of the capabilities table: refuses or warns. */
  | { use: 'checked'; by: string };

const read = (by: string): FieldUse => ({ use: 'read', by });

/**
 * Resolved field (or subtree) → use per target kind; `*` is every kind not named. Only kinds whose
 * real-time serving works are placed (a planned kind refuses every deployment); a new real-time
 * target adds its column where its use differs.
 */
export const resolvedFieldUse: Readonly<Record<string, Readonly<Record<string, FieldUse>>>> = {
  endpointName: { '*': read('names the replicas, their logs and the handle') },
  deploymentName: { '*': read('names the replicas, their logs and the handle') },
  target: { '*': read('picks the target') },
  model: { '*': read('the model files the scoring server loads, verified by sha256') },
  scoringScript: { '*': read('the entry script the scoring server runs') },
  codeDir: { '*': read('the code folder (the working folder; copied into the image on container)') },
  condaFile: {
    container: read("a Python scoring script's requirements, installed into the image from Debian packages"),
    '*': { use: 'ignored', why: 'the environment field says why (no image is built)' },
  },
  instanceCount: {
    edge: {
      use: 'ignored',
      why: "every device of the target's group runs one scoring server: the group's devices are the instances",
    },
    function: {
      use: 'ignored',
      why: "instances start per request (up to the target's maxInstances) and stop when idle; it still sizes the gateway's admission bound (2 × max_concurrent_requests_per_instance × instance_count)",
    },
    '*': read('replicas started and kept; the gateway admission bound'),
  },
  'requestSettings.requestTimeoutMs': { '*': read("the gateway's timeout and the replica's deadline") },
  'requestSettings.maxConcurrentRequestsPerInstance': {
    function: {
      use: 'ignored',
      why: "a function instance takes one invocation at a time, as Lambda runs them; it still sizes the gateway's admission bound",
    },
    '*': read("the replica's concurrency and queue; the gateway admission bound"),
  },
  'requestSettings.maxQueueWaitMs': {
    '*': { use: 'ignored', why: deploymentFieldRules['request_settings.max_queue_wait_ms']!.why as string },
  },
  livenessProbe: {
    edge: {
      use: 'ignored',
      why: 'a device restarts its scoring server when the process ends, and probes nothing',
    },
    function: {
      use: 'ignored',
      why: 'a function instance lives for its invocations: one that fails or times out is stopped, and the next request starts another',
    },
    '*': read("the replica supervisor's liveness probe (and the engine's health check on container)"),
  },
  'livenessProbe.successThreshold': {
    '*': { use: 'ignored', why: deploymentFieldRules['liveness_probe.success_threshold']!.why as string },
  },
  readinessProbe: {
    edge: {
      use: 'ignored',
      why: 'a device moves traffic to a new version once its scoring server listens, and probes nothing',
    },
    function: {
      use: 'ignored',
      why: 'each deploy and update proves the package with one cold start instead (/v2/health/ready)',
    },
    '*': read("the replica supervisor's readiness probe: it gates routing"),
  },
  environmentVariables: { '*': read("the replica process's environment") },
  batching: { '*': read("the scoring server's dynamic batcher") },
  'resources.cpu': {
    local: read('scoring worker threads per replica (not a limit: validate.ts warns)'),
    ssh: read('scoring worker threads per replica on the machine (not a limit: validate.ts warns)'),
    container: read('the container CPU limit (NanoCpus) and scoring worker threads'),
    function: read('scoring worker threads per instance (not a limit: validate.ts warns)'),
    edge: read('scoring worker threads on each device (not a limit: validate.ts warns)'),
    kubernetes: read("the pod's CPU request and limit, and scoring worker threads"),
  },
  'resources.memoryBytes': {
    local: read("BERTH_MEMORY_LIMIT_BYTES: the scoring server's whole-process limit (validate.ts says so)"),
    ssh: { use: 'checked', by: 'validate.ts warns that ssh does not enforce it' },
    container: read('the container memory limit, checked against the 48 GB row'),
    function: { use: 'checked', by: 'validate.ts warns that the function host does not enforce it' },
    edge: read("the scoring server's whole-process limit on each device (validate.ts says so)"),
    kubernetes: read("the pod's memory request and limit"),
  },
  'resources.gpu': {
    local: read("the CUDA execution provider on the host's GPU (validate.ts says so)"),
    ssh: read("the CUDA execution provider on the machine's GPU (validate.ts says so)"),
    container: { use: 'checked', by: 'validate.ts refuses a GPU on the CPU-only container row' },
    function: { use: 'checked', by: 'validate.ts refuses a GPU on the CPU-only function row' },
    edge: read("the CUDA execution provider on the device's GPU"),
    kubernetes: read('the nvidia.com/gpu limit: the scheduler places the pod on a node with that many GPUs'),
  },
  'dataCollection.enabled': { '*': read("the scoring server's data collector") },
  scaleSettings: {
    local: read('the autoscaler (targets/autoscale): replicas between min and max, scale to zero'),
    container: read('the autoscaler (targets/autoscale): containers between min and max, scale to zero'),
    ssh: read(
      'the autoscaler (targets/autoscale): replicas on the machine between min and max, scale to zero',
    ),
    kubernetes: read('the HorizontalPodAutoscaler (min, max, target CPU %) and its behavior'),
    function: {
      use: 'ignored',
      why: (deploymentFieldRules.scale_settings!.why as Record<string, string>)['function']!,
    },
    '*': { use: 'ignored', why: 'the target does not autoscale: instance_count replicas are kept' },
  },
  'dataCollection.samplingRate': { '*': read("the scoring server's data collector") },
};

/** The use of resolved field `path` on `kind`: the most specific entry (the field or a parent), the kind's or `*`. */
export function resolvedUse(path: string, kind: string): FieldUse | undefined {
  const parts = path.split('.');
  for (let length = parts.length; length > 0; length -= 1) {
    const entry = resolvedFieldUse[parts.slice(0, length).join('.')];
    const use = entry?.[kind] ?? entry?.['*'];
    if (use !== undefined) return use;
  }
  return undefined;
}

function has(value: unknown, path: readonly string[]): boolean {
  let node: unknown = value;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return node !== undefined;
}

function reason(rule: FieldRule, kind: string): string {
  return typeof rule.why === 'string' ? rule.why : (rule.why[kind] ?? rule.why['*'] ?? '');
}

/** The target a deployment goes to: its name, and its kind (a named target's kind, or the name itself). */
export interface TargetRef {
  name: string;
  kind: string;
}

function describeTarget(target: TargetRef): string {
  return target.name === target.kind ? `"${target.name}"` : `"${target.name}" (${target.kind})`;
}

/** Warnings for every field of `spec` set in the file that target kind `kind` does not honour. */
export function inapplicableFieldWarnings(
  rules: Record<string, FieldRule>,
  spec: unknown,
  kind: string,
  file: string,
  lineOf: (path: SpecPath) => number | undefined,
  target: TargetRef = { name: kind, kind },
): SpecIssue[] {
  const warnings: SpecIssue[] = [];
  for (const [field, rule] of Object.entries(rules)) {
    const path = field.split('.');
    if (!has(spec, path) || rule.honouredBy.includes(kind)) continue;
    warnings.push({
      file,
      line: lineOf(path),
      path: formatSpecPath(path),
      message: `ignored on target ${describeTarget(target)}: ${reason(rule, kind)}`,
    });
  }
  return warnings;
}

/**
 * Every warning about a deployment's fields on `target`: fields the target ignores (by rule, or
 * because the resolved field they become is ignored there), and a Kubernetes deployment file sent
 * to a target that is not Kubernetes, named with what differs.
 */
export function deploymentFieldWarnings(
  spec: Record<string, unknown>,
  target: TargetRef,
  file: string,
  lineOf: (path: SpecPath) => number | undefined,
): SpecIssue[] {
  const warnings = inapplicableFieldWarnings(deploymentFieldRules, spec, target.kind, file, lineOf, target);
  const ruled = new Set(warnings.map((warning) => warning.path));
  for (const [field, into] of Object.entries(resolvedFrom)) {
    const path = field.split('.');
    if (!has(spec, path) || ruled.has(field)) continue;
    for (const resolved of into) {
      const use = resolvedUse(resolved, target.kind);
      if (use?.use !== 'ignored') continue;
      warnings.push({
        file,
        line: lineOf(path),
        path: field,
        message: `ignored on target ${describeTarget(target)}: ${use.why}`,
      });
      break;
    }
  }
  if (spec.type === 'kubernetes' && target.kind !== 'kubernetes') {
    warnings.push({
      file,
      line: lineOf(['type']),
      path: 'type',
      message:
        `the file is a Kubernetes online deployment, but target ${describeTarget(target)} is not Kubernetes: ` +
        `it runs as ${target.kind} replicas, with no Kubernetes Deployment, Service or HorizontalPodAutoscaler (scale_settings go to berth's own autoscaler where the target has one, and are listed above where it has none). ` +
        'To deploy to Kubernetes, name a kubernetes target (target: NAME, from berth target create NAME --type kubernetes)',
    });
  }
  return warnings;
}
