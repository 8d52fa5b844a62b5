/**
 * The batch deployment file, in the shape of Azure ML CLI v2 batch deployments, with
 * ParallelRunStep's defaults. Both of Azure's shapes are accepted: the older one with the run
 * settings at the top level, and today's `modelBatchDeployment` with them under `settings:` (the
 * size stays `resources.instance_count` in both). settings.ts merges the two and refuses a value
 * given both ways differently.
 *
 * Unknown fields are not errors (a file written for Azure carries fields berth has no use for):
 * the objects are strict so that core/yaml.ts turns each unknown field into a warning naming it,
 * instead of dropping it silently.
 */
import { z } from 'zod';
import { nameSchema } from '../../core/names.js';
import { parseByteSize } from './size.js';

const count = (minimum: number) => z.number().int().min(minimum);

export const miniBatchSizeSchema = z.union([
  count(1),
  z.string().refine((text) => parseByteSize(text) !== undefined, {
    message: 'expected a count of files (e.g. 10) or a size for tabular input (e.g. "1MB", "512KB")',
  }),
]);

export const modelFieldSchema = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    name: nameSchema.optional(),
    description: z.string().optional(),
    type: z.string().optional(),
  }),
]);

/** The run settings: top-level fields in the older shape, `settings:` in modelBatchDeployment. */
export const runSettingsShape = {
  max_concurrency_per_instance: count(1).optional(),
  mini_batch_size: miniBatchSizeSchema.optional(),
  output_action: z.enum(['append_row', 'summary_only']).optional(),
  output_file_name: z
    .string()
    .regex(/^[^/\\]+$/, 'expected a file name without folders')
    .optional(),
  retry_settings: z
    .strictObject({
      max_retries: count(0).optional(),
      timeout: z.number().positive().optional(),
    })
    .optional(),
  error_threshold: count(-1).optional(),
  logging_level: z.enum(['debug', 'info', 'warning', 'error']).optional(),
  environment_variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
};

export const runSettingsSchema = z.strictObject(runSettingsShape);
export type RunSettings = z.infer<typeof runSettingsSchema>;
export const runSettingKeys = Object.keys(runSettingsShape) as (keyof RunSettings)[];

export const batchDeploymentSchema = z.strictObject({
  $schema: z.string().optional(),
  name: nameSchema,
  endpoint_name: nameSchema.optional(),
  description: z.string().optional(),
  type: z.literal('model').optional(),
  model: modelFieldSchema.optional(),
  code_configuration: z
    .strictObject({
      code: z.string().min(1).optional(),
      scoring_script: z.string().min(1),
    })
    .optional(),
  /**
   * Azure's environment (an image and a conda file): read so that load.ts can say why it is not
   * used, instead of calling it an unknown field.
   */
  environment: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  /** `local` (the default), `azureml:NAME` or `NAME` of a target, or `cluster:redis://host:port`. */
  compute: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  resources: z.strictObject({ instance_count: count(1).optional() }).optional(),
  settings: runSettingsSchema.optional(),
  ...runSettingsShape,
  allowed_failed_count: count(-1).optional(),
  allowed_failed_percent: z.number().min(0).max(100).optional(),
});

export type BatchDeploymentFile = z.infer<typeof batchDeploymentSchema>;
