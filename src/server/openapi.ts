/**
 * The OpenAPI 3.1 description of the control-plane API, served at `GET /openapi.json`. Schemas of
 * the views are summarised (their zod definitions in src/core/specs/views.ts are the reference).
 */
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const ok = (description: string, schema: object) => ({ description, ...json(schema) });
const errors = {
  '400': ok('bad input or invalid spec', ref('Error')),
  '401': ok('missing or wrong bearer token', ref('Error')),
  '404': ok('not found', ref('Error')),
  '409': ok('conflict (exists, or still takes traffic)', ref('Error')),
};
const endpointParam = { name: 'endpoint', in: 'path', required: true, schema: { type: 'string' } };
const deploymentParam = { name: 'deployment', in: 'path', required: true, schema: { type: 'string' } };

function operation(summary: string, answer: object, extra: object = {}) {
  return { summary, responses: { '200': answer, ...errors }, ...extra };
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'berth control plane',
    version: '1',
    description:
      'Endpoints, deployments, keys, logs, models and targets of one berth workspace. Every /api route needs `Authorization: Bearer <token>` (the token is in <workspace>/server.json). Errors answer `{ "error": { "code", "message" } }` with the status of the code.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: {
        type: 'object',
        properties: {
          error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
        },
      },
      Endpoint: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          authMode: { enum: ['key', 'none'] },
          state: { enum: ['Creating', 'Transitioning', 'Healthy', 'Unhealthy', 'Failed', 'Deleting'] },
          reason: { type: ['string', 'null'] },
          scoringUri: { type: 'string' },
          swaggerUri: { type: 'string' },
          traffic: { type: 'object', additionalProperties: { type: 'integer' } },
          mirrorTraffic: { type: 'object', additionalProperties: { type: 'integer' } },
          deployments: { type: 'array', items: ref('Deployment') },
        },
      },
      Deployment: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          endpointName: { type: 'string' },
          target: { type: 'string' },
          model: { type: 'string', description: 'name:version' },
          state: { type: 'string' },
          reason: { type: ['string', 'null'] },
          instanceCount: { type: 'integer' },
          replicas: { type: 'array', items: { type: 'object' } },
          kubernetes: {
            type: ['object', 'null'],
            description:
              'on a Kubernetes target: replicas, autoscaler, pods with restarts, recent events (docs/cli-json.md)',
          },
          traffic: { type: 'integer' },
          mirrorTraffic: { type: 'integer' },
          spec: {
            type: 'object',
            description: 'the deployment YAML fields (Azure ML managedOnlineDeployment shape)',
          },
        },
      },
      Keys: {
        type: 'object',
        properties: { primaryKey: { type: 'string' }, secondaryKey: { type: 'string' } },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/health': {
      get: { summary: 'liveness, no token needed', security: [], responses: { '200': ok('up', {}) } },
    },
    '/openapi.json': {
      get: { summary: 'this document', security: [], responses: { '200': ok('OpenAPI', {}) } },
    },
    '/api/status': { get: operation('server status: pid, URLs, counts', ok('status', {})) },
    '/api/shutdown': {
      post: operation('stop the server (replicas stopped, state kept)', ok('stopping', {})),
    },
    '/api/models': { get: operation('list model versions', ok('models', { type: 'array' })) },
    '/api/models/{model}': {
      get: operation('one model version (name or name:version)', ok('model', {}), {
        parameters: [{ name: 'model', in: 'path', required: true, schema: { type: 'string' } }],
      }),
    },
    '/api/targets': { get: operation('the capabilities table', ok('targets', { type: 'array' })) },
    '/api/targets/{kind}': {
      get: operation('one row of the capabilities table', ok('target', {}), {
        parameters: [{ name: 'kind', in: 'path', required: true, schema: { type: 'string' } }],
      }),
    },
    '/api/targets/recommend': {
      post: operation('recommend a target for a workload', ok('recommendation', {}), {
        requestBody: json({ type: 'object', required: ['mode', 'modelBytes'] }),
      }),
    },
    '/api/endpoints': {
      get: operation('list endpoints', ok('endpoints', { type: 'array', items: ref('Endpoint') })),
      post: operation('create an endpoint from its spec', ok('created', ref('Endpoint')), {
        requestBody: json({ type: 'object', properties: { spec: { type: 'object' } } }),
      }),
    },
    '/api/endpoints/{endpoint}': {
      parameters: [endpointParam],
      get: operation('one endpoint, with its deployments', ok('endpoint', ref('Endpoint'))),
      patch: operation(
        'change traffic, mirror, description, tags or auth mode',
        ok('endpoint', ref('Endpoint')),
        {
          requestBody: json({
            type: 'object',
            properties: {
              traffic: { type: 'object' },
              mirror: { type: 'object' },
              authMode: { enum: ['key', 'none'] },
            },
          }),
        },
      ),
      delete: operation('delete the endpoint and its deployments', ok('deleted', {})),
    },
    '/api/endpoints/{endpoint}/keys': {
      parameters: [endpointParam],
      get: operation("the endpoint's keys", ok('keys', ref('Keys'))),
    },
    '/api/endpoints/{endpoint}/keys/regenerate': {
      parameters: [endpointParam],
      post: operation('replace the primary or the secondary key', ok('keys', ref('Keys')), {
        requestBody: json({ type: 'object', properties: { keyType: { enum: ['primary', 'secondary'] } } }),
      }),
    },
    '/api/endpoints/{endpoint}/deployments': {
      parameters: [endpointParam],
      get: operation('list deployments', ok('deployments', { type: 'array', items: ref('Deployment') })),
      post: operation('create a deployment (waits until it is healthy or failed)', ok('created', {}), {
        requestBody: json({
          type: 'object',
          properties: {
            spec: { type: 'object' },
            baseDir: { type: 'string' },
            allTraffic: { type: 'boolean' },
          },
        }),
      }),
    },
    '/api/endpoints/{endpoint}/deployments/{deployment}': {
      parameters: [endpointParam, deploymentParam],
      get: operation('one deployment', ok('deployment', ref('Deployment'))),
      patch: operation('rolling update: `edits` (key=value) and/or a new spec', ok('updated', {}), {
        requestBody: json({
          type: 'object',
          properties: { edits: { type: 'array' }, spec: { type: 'object' } },
        }),
      }),
      delete: operation('delete a deployment that takes no traffic', ok('deleted', {})),
    },
    '/api/endpoints/{endpoint}/deployments/{deployment}/logs': {
      parameters: [
        endpointParam,
        deploymentParam,
        { name: 'lines', in: 'query', schema: { type: 'integer', default: 100 } },
        { name: 'follow', in: 'query', schema: { type: 'boolean', default: false } },
      ],
      get: operation('replica output, one JSON object per line', {
        description: 'log lines',
        content: { 'application/x-ndjson': { schema: { type: 'object' } } },
      }),
    },
  },
} as const;
