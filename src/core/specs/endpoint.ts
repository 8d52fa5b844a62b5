/**
 * The endpoint YAML, shaped like Azure ML CLI v2's `managedOnlineEndpoint` /
 * `kubernetesOnlineEndpoint` so a file written for Azure is accepted as is. Azure fields berth has
 * no use for are accepted and reported as warnings (see applicability.ts), never dropped silently.
 */
import { z } from 'zod';
import { percentMapSchema, specNameSchema, tagsSchema } from './common.js';

/** `aml_token` and `aad_token` are Azure's token modes: berth accepts them and uses keys. */
export const specAuthModes = ['key', 'aml_token', 'aad_token', 'none'] as const;
export type SpecAuthMode = (typeof specAuthModes)[number];

/** What an endpoint is served with: `key` (a primary and a secondary key) or `none`. */
export type AuthMode = 'key' | 'none';

export const endpointSpecSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Required here or on the command line (`--name`). */
  name: specNameSchema.optional(),
  description: z.string().optional(),
  tags: tagsSchema.optional(),
  /** Default `key`. */
  auth_mode: z.enum(specAuthModes, { error: 'expected key, aml_token or none' }).optional(),
  /** Deployment name → percent of live traffic; the values add up to 0 or 100. */
  traffic: percentMapSchema.optional(),
  /** Deployment name → percent of traffic copied to it (responses discarded); at most one entry. */
  mirror_traffic: percentMapSchema.optional(),
  /** berth: the default target of the endpoint's deployments. Default `local`. */
  target: specNameSchema.optional(),
  // Azure fields accepted for compatibility; applicability.ts says why they do nothing here.
  kind: z.string().optional(),
  compute: z.string().optional(),
  identity: z.record(z.string(), z.unknown()).optional(),
  public_network_access: z.enum(['enabled', 'disabled']).optional(),
});

export type EndpointSpec = z.output<typeof endpointSpecSchema>;
