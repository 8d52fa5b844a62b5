/**
 * The control-plane REST API (documented in ../openapi.ts): thin handlers that check the body
 * with zod, call an operation and answer with a view. Errors become `{ error: { code, message } }`
 * with the catalogue's status (io.ts).
 */
import { z } from 'zod';
import { BerthError } from '../../core/errors.js';
import { assertName } from '../../core/names.js';
import { deploymentSpecSchema, endpointSpecSchema, percentMapSchema } from '../../core/specs/index.js';
import { recommendTarget } from '../../targets/advisor.js';
import { targetCapabilities } from '../../targets/capabilities.js';
import { targetKinds, type TargetKind } from '../../targets/target.js';
import {
  createDeployment,
  deleteDeployment,
  deploymentLogs,
  updateDeployment,
  type OperationResult,
} from '../deployment-ops.js';
import {
  createEndpoint,
  deleteEndpoint,
  endpointKeys,
  regenerateKeys,
  updateEndpoint,
} from '../endpoint-ops.js';
import { keyTypes } from '../keys.js';
import { mustGetDeployment, mustGetEndpoint, type ControlPlaneState } from '../state.js';
import { deploymentView, endpointView } from '../views.js';
import { readJson } from './io.js';
import type { Router } from './router.js';
import { type RouteContext } from './router.js';

const createDeploymentBody = z.strictObject({
  spec: deploymentSpecSchema,
  baseDir: z.string().min(1),
  allTraffic: z.boolean().default(false),
});

const updateDeploymentBody = z.strictObject({
  edits: z.array(z.string()).default([]),
  spec: deploymentSpecSchema.optional(),
  baseDir: z.string().min(1).optional(),
});

const updateEndpointBody = z.strictObject({
  traffic: percentMapSchema.optional(),
  mirror: percentMapSchema.optional(),
  description: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  authMode: z.enum(['key', 'none']).optional(),
});

const workloadBody = z.strictObject({
  mode: z.enum(['realtime', 'batch']),
  gpu: z.boolean().optional(),
  modelBytes: z.number().nonnegative(),
  memoryBytes: z.number().positive().optional(),
  requestsPerSecond: z.number().positive().optional(),
  offline: z.boolean().optional(),
  stage: z.enum(['dev', 'test', 'production']).optional(),
});

function param(context: RouteContext, key: string, what: string): string {
  return assertName(context.params[key] ?? '', what);
}

async function operationAnswer(state: ControlPlaneState, result: OperationResult, status: number) {
  const endpoint = await mustGetEndpoint(state, result.record.endpointName);
  const record = await mustGetDeployment(state, result.record.endpointName, result.record.deploymentName);
  return {
    status,
    body: { deployment: await deploymentView(state, record, endpoint), messages: result.messages },
  };
}

function targetRow(kind: TargetKind) {
  return { kind, ...targetCapabilities[kind] };
}

export function endpointRoutes(router: Router, state: ControlPlaneState): void {
  router
    .add('GET', '/api/endpoints', async () => {
      const endpoints = await state.store.listEndpoints();
      return { body: await Promise.all(endpoints.map((endpoint) => endpointView(state, endpoint))) };
    })
    .add('POST', '/api/endpoints', async ({ request }) => {
      const { spec } = await readJson(request, z.strictObject({ spec: endpointSpecSchema }));
      const created = await createEndpoint(state, spec);
      return { status: 201, body: await endpointView(state, created) };
    })
    .add('GET', '/api/endpoints/:endpoint', async (context) => {
      const endpoint = await mustGetEndpoint(state, param(context, 'endpoint', 'endpoint name'));
      return { body: await endpointView(state, endpoint) };
    })
    .add('PATCH', '/api/endpoints/:endpoint', async (context) => {
      const changes = await readJson(context.request, updateEndpointBody);
      const updated = await updateEndpoint(state, param(context, 'endpoint', 'endpoint name'), changes);
      return { body: await endpointView(state, updated) };
    })
    .add('DELETE', '/api/endpoints/:endpoint', async (context) => {
      const name = param(context, 'endpoint', 'endpoint name');
      await deleteEndpoint(state, name);
      return { body: { deleted: name } };
    })
    .add('GET', '/api/endpoints/:endpoint/keys', async (context) => ({
      body: await endpointKeys(state, param(context, 'endpoint', 'endpoint name')),
    }))
    .add('POST', '/api/endpoints/:endpoint/keys/regenerate', async (context) => {
      const { keyType } = await readJson(context.request, z.strictObject({ keyType: z.enum(keyTypes) }));
      return { body: await regenerateKeys(state, param(context, 'endpoint', 'endpoint name'), keyType) };
    });
}

export function deploymentRoutes(router: Router, state: ControlPlaneState): void {
  const names = (context: RouteContext) =>
    [param(context, 'endpoint', 'endpoint name'), param(context, 'deployment', 'deployment name')] as const;
  router
    .add('GET', '/api/endpoints/:endpoint/deployments', async (context) => {
      const endpoint = await mustGetEndpoint(state, param(context, 'endpoint', 'endpoint name'));
      const records = await state.store.listDeployments({ endpointName: endpoint.name });
      return { body: await Promise.all(records.map((record) => deploymentView(state, record, endpoint))) };
    })
    .add('POST', '/api/endpoints/:endpoint/deployments', async (context) => {
      const body = await readJson(context.request, createDeploymentBody);
      const endpointName = param(context, 'endpoint', 'endpoint name');
      if (body.spec.endpoint_name !== undefined && body.spec.endpoint_name !== endpointName) {
        throw new BerthError(
          'BAD_INPUT',
          `the spec is for endpoint ${body.spec.endpoint_name}, not ${endpointName}`,
        );
      }
      const spec = { ...body.spec, endpoint_name: endpointName };
      const result = await createDeployment(state, {
        spec,
        baseDir: body.baseDir,
        allTraffic: body.allTraffic,
      });
      return operationAnswer(state, result, 201);
    })
    .add('GET', '/api/endpoints/:endpoint/deployments/:deployment', async (context) => {
      const [endpointName, name] = names(context);
      const record = await mustGetDeployment(state, endpointName, name);
      return { body: await deploymentView(state, record, await mustGetEndpoint(state, endpointName)) };
    })
    .add('PATCH', '/api/endpoints/:endpoint/deployments/:deployment', async (context) => {
      const [endpointName, name] = names(context);
      const body = await readJson(context.request, updateDeploymentBody);
      const result = await updateDeployment(state, endpointName, name, {
        edits: body.edits,
        spec: body.spec,
        baseDir: body.baseDir,
      });
      return operationAnswer(state, result, 200);
    })
    .add('DELETE', '/api/endpoints/:endpoint/deployments/:deployment', async (context) => {
      const [endpointName, name] = names(context);
      await deleteDeployment(state, endpointName, name);
      return { body: { deleted: name } };
    })
    .add('GET', '/api/endpoints/:endpoint/deployments/:deployment/logs', async (context) => {
      const [endpointName, name] = names(context);
      const lines = Number(context.query.get('lines') ?? '100');
      if (!Number.isInteger(lines) || lines < 0)
        throw new BerthError('BAD_INPUT', 'lines must be a whole number');
      const follow = context.query.get('follow') === 'true';
      const abort = new AbortController();
      context.response.on('close', () => abort.abort());
      const logs = await deploymentLogs(state, endpointName, name, { lines, follow, signal: abort.signal });
      context.response.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
      try {
        for await (const line of logs) {
          if (!context.response.write(`${JSON.stringify(line)}\n`)) {
            await new Promise((resolve) => context.response.once('drain', resolve));
          }
        }
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      }
      context.response.end();
      return undefined;
    });
}

export function workspaceRoutes(router: Router, state: ControlPlaneState): void {
  router
    .add('GET', '/api/models', async () => ({ body: await state.models.list() }))
    .add('GET', '/api/models/:model', async (context) => ({
      body: await state.models.get(context.params.model ?? ''),
    }))
    .add('GET', '/api/targets', async () => ({ body: targetKinds.map(targetRow) }))
    .add('GET', '/api/targets/:kind', async (context) => {
      const kind = targetKinds.find((candidate) => candidate === context.params.kind);
      if (kind === undefined) {
        throw new BerthError(
          'NOT_FOUND',
          `no target kind ${JSON.stringify(context.params.kind)}: use one of ${targetKinds.join(', ')}`,
        );
      }
      return { body: targetRow(kind) };
    })
    .add('POST', '/api/targets/recommend', async (context) => ({
      body: recommendTarget(await readJson(context.request, workloadBody)),
    }));
}
