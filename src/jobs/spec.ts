/**
 * The command job file: Azure ML CLI v2's command job shape (`type: command`), the fields berth
 * runs. Strict objects, so core/yaml.ts turns an unknown field into a warning with its line.
 * Fields Azure has and berth reads but does not act on (`environment`, `experiment_name`, …) are
 * accepted; `environment` becomes a warning where the target ignores it.
 */
import { z } from 'zod';
import { cpuQuantitySchema, memoryQuantitySchema } from '../core/specs/quantities.js';

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'expected a name of letters, digits and "_"');

/** `data: {type: uri_folder, path: ./data}` or a literal `epochs: 5`. */
const inputSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.strictObject({
    type: z.enum(['uri_folder', 'uri_file', 'string', 'integer', 'number', 'boolean', 'mltable']).optional(),
    path: z.string().min(1).optional(),
    value: z.union([z.string(), z.number(), z.boolean()]).optional(),
    mode: z.string().optional(),
    description: z.string().optional(),
  }),
]);

const outputSchema = z
  .strictObject({
    type: z.enum(['uri_folder', 'uri_file', 'mlflow_model', 'custom_model']).optional(),
    mode: z.string().optional(),
    description: z.string().optional(),
  })
  .nullable();

export const commandJobSchema = z.strictObject({
  $schema: z.string().optional(),
  type: z.literal('command').optional(),
  name: z.string().optional(),
  display_name: z.string().optional(),
  experiment_name: z.string().optional(),
  description: z.string().optional(),
  tags: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  command: z.string().min(1, 'expected a command to run'),
  code: z.string().min(1).optional(),
  inputs: z.record(name, inputSchema).optional(),
  outputs: z.record(name, outputSchema).optional(),
  environment_variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  environment: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  compute: z.string().min(1).optional(),
  resources: z
    .strictObject({
      instance_count: z.number().int().min(1).max(64).optional(),
      instance_type: z.string().optional(),
      /** Azure's `/dev/shm` size, Docker-style (`2g`, `512m`) or a Kubernetes quantity. */
      shm_size: z.union([z.string(), z.number()]).optional(),
      /** berth's additions, held as engine limits where the target enforces them (container). */
      cpu: cpuQuantitySchema.optional(),
      memory: memoryQuantitySchema.optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      /** Seconds, as in Azure ML. */
      timeout: z.number().int().min(1).optional(),
      /** berth's addition: how often a cluster run is retried when its worker disappears, an ssh run when its command is killed by a signal. */
      max_retries: z.number().int().min(0).max(100).optional(),
    })
    .optional(),
});

export type CommandJobFile = z.output<typeof commandJobSchema>;
