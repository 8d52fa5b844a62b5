/**
 * The deployment YAML, shaped like Azure ML CLI v2's `managedOnlineDeployment` and
 * `kubernetesOnlineDeployment`, plus berth's own `target` and `batching`. Durations keep Azure's
 * units here (probes in seconds, request settings in ms); resolution turns them all into ms.
 */
import { z } from 'zod';
import { specNameSchema, tagsSchema } from './common.js';
import { cpuQuantitySchema, gpuCountSchema, memoryQuantitySchema } from './quantities.js';

const wholeSeconds = (what: string) =>
  z
    .number({ error: `expected ${what} in whole seconds` })
    .int({ error: `expected ${what} in whole seconds` });

export const probeSpecSchema = z.strictObject({
  /** Seconds before the first probe. Default 10. */
  initial_delay: wholeSeconds('a delay').min(0).optional(),
  /** Seconds between probes. Default 10. */
  period: wholeSeconds('a period').min(1).optional(),
  /** Seconds one probe may take. Default 2. */
  timeout: wholeSeconds('a timeout').min(1).optional(),
  /** Consecutive successes to count as up. Default 1. */
  success_threshold: z.number().int().min(1).optional(),
  /** Consecutive failures to count as down. Default 30. */
  failure_threshold: z.number().int().min(1).optional(),
});

/** `name:version`, `azureml:name:version`, `azureml:name@latest`; or an inline model registered on create. */
export const modelFieldSchema = z.union(
  [
    z.string().min(1),
    z.strictObject({
      path: z.string({ error: 'expected the path of the model file or folder' }).min(1),
      name: specNameSchema.optional(),
      version: z.union([z.string(), z.number()]).optional(),
      type: z.string().optional(),
      description: z.string().optional(),
      tags: tagsSchema.optional(),
    }),
  ],
  { error: 'expected a model reference ("name:version") or an inline model with a path' },
);

const resourceSetSchema = z.strictObject({
  cpu: cpuQuantitySchema.optional(),
  memory: memoryQuantitySchema.optional(),
  'nvidia.com/gpu': gpuCountSchema.optional(),
});

const booleanish = z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])], {
  error: 'expected true or false',
});

export const deploymentSpecSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Required here or on the command line (`--name`). */
  name: specNameSchema.optional(),
  /** Required here or on the command line (`--endpoint-name`). */
  endpoint_name: specNameSchema.optional(),
  description: z.string().optional(),
  tags: tagsSchema.optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  /** `managed` or `kubernetes` (Azure's deployment kinds); berth picks the target from `target`. */
  type: z.enum(['managed', 'kubernetes']).optional(),
  model: modelFieldSchema,
  code_configuration: z
    .strictObject({
      /** Folder of the scoring code, relative to the YAML file. */
      code: z.string().min(1),
      /** JS/TS module exporting init(ctx) and run(input, ctx), relative to `code`. */
      scoring_script: z.string().min(1),
    })
    .optional(),
  environment: z
    .union([z.string(), z.record(z.string(), z.unknown())], {
      error: 'expected an environment name or mapping',
    })
    .optional(),
  environment_variables: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .optional(),
  instance_type: z.string().optional(),
  instance_count: z.number({ error: 'expected a whole number of instances, at least 1' }).int().min(1),
  request_settings: z
    .strictObject({
      /** Default 5000. */
      request_timeout_ms: z.number().int().min(1).max(300_000).optional(),
      /** Azure's default is 1; berth's is 1, or 2 × max_batch_size when batching is enabled. */
      max_concurrent_requests_per_instance: z.number().int().min(1).optional(),
      /** How long a request may wait for a free slot. Default 500 (Azure's). */
      max_queue_wait_ms: z.number().int().min(0).optional(),
    })
    .optional(),
  liveness_probe: probeSpecSchema.optional(),
  readiness_probe: probeSpecSchema.optional(),
  scale_settings: z
    .strictObject({
      type: z.enum(['default', 'target_utilization']).optional(),
      min_instances: z.number().int().min(0).optional(),
      max_instances: z.number().int().min(1).optional(),
      /** Seconds between utilization readings (Azure: whole seconds; berth also takes fractions). */
      polling_interval: z.number().min(0.05).max(3600).optional(),
      target_utilization_percentage: z.number().int().min(1).max(100).optional(),
      /** berth: seconds above the target before replicas are added. Default polling_interval (above at two polls in a row). */
      scale_up_delay: z.number().min(0).max(3600).optional(),
      /** berth: seconds with more replicas than needed before one is removed. Default 60. */
      scale_down_delay: z.number().min(0).max(86_400).optional(),
      /** berth: with min_instances 0, seconds without a request before the last replica stops. Default 300. */
      idle_timeout: z.number().min(0).max(86_400).optional(),
    })
    .optional(),
  resources: z
    .strictObject({ requests: resourceSetSchema.optional(), limits: resourceSetSchema.optional() })
    .optional(),
  data_collector: z
    .strictObject({
      collections: z.record(z.string(), z.looseObject({ enabled: booleanish.optional() })).optional(),
      sampling_rate: z.number().min(0).max(1).optional(),
      rolling_rate: z.string().optional(),
      request_logging: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  app_insights_enabled: z.boolean().optional(),
  egress_public_network_access: z.enum(['enabled', 'disabled']).optional(),
  model_mount_path: z.string().optional(),
  /** berth: where the deployment runs. Default: the endpoint's target, else `local`. */
  target: specNameSchema.optional(),
  /** berth: dynamic batching of concurrent requests into one model call. Off by default. */
  batching: z
    .strictObject({
      /** Default false. */
      enabled: z.boolean().optional(),
      /** Default 8. */
      max_batch_size: z.number().int().min(1).max(4096).optional(),
      /** Default 2. */
      max_queue_delay_ms: z.number().min(0).max(10_000).optional(),
    })
    .optional(),
});

export type DeploymentSpec = z.output<typeof deploymentSpecSchema>;
export type ProbeSpec = z.output<typeof probeSpecSchema>;
