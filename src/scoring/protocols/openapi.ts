/**
 * `GET /swagger.json`: an OpenAPI 3 description of `/score`, generated from the model's signature,
 * or from the JSON schemas a scoring script declares for its input and output.
 */
import type { Dimension, TensorDatatype, TensorSpec } from '../../core/tensor.js';
import type { LoadedModel, ScriptSchemas } from '../engine.js';
import { SERVER_VERSION } from './v2-metadata.js';

function elementSchema(datatype: TensorDatatype): object {
  switch (datatype) {
    case 'BOOL':
      return { type: 'boolean' };
    case 'BYTES':
      return { type: 'string' };
    case 'FP16':
    case 'FP32':
      return { type: 'number', format: 'float' };
    case 'FP64':
      return { type: 'number', format: 'double' };
    case 'INT64':
    case 'UINT64':
      return { type: 'integer', format: 'int64' };
    default:
      return { type: 'integer', format: 'int32' };
  }
}

function nestedSchema(datatype: TensorDatatype, shape: readonly Dimension[]): object {
  let schema = elementSchema(datatype);
  for (let i = shape.length - 1; i >= 0; i--) {
    const dim = shape[i];
    schema =
      typeof dim === 'number'
        ? { type: 'array', items: schema, minItems: dim, maxItems: dim }
        : { type: 'array', items: schema };
  }
  return schema;
}

function tensorsSchema(specs: readonly TensorSpec[]): object {
  return {
    type: 'object',
    required: specs.map((spec) => spec.name),
    properties: Object.fromEntries(specs.map((spec) => [spec.name, nestedSchema(spec.datatype, spec.shape)])),
  };
}

function signatureSchemas(model: LoadedModel): { input: object; output: object } {
  const signature = model.signature!;
  const [onlyInput] = signature.inputs;
  const input =
    signature.inputs.length === 1 && onlyInput !== undefined
      ? {
          type: 'object',
          required: ['data'],
          properties: { data: nestedSchema(onlyInput.datatype, onlyInput.shape) },
        }
      : { type: 'object', required: ['inputs'], properties: { inputs: tensorsSchema(signature.inputs) } };
  const [onlyOutput] = signature.outputs;
  const output =
    signature.outputs.length === 1 && onlyOutput !== undefined
      ? nestedSchema(onlyOutput.datatype, onlyOutput.shape)
      : tensorsSchema(signature.outputs);
  return { input, output };
}

export function openApiDocument(model: LoadedModel | undefined, script: ScriptSchemas | undefined): object {
  const fromSignature = model?.signature && !model.scripted ? signatureSchemas(model) : undefined;
  const input = fromSignature?.input ?? script?.input ?? { type: 'object' };
  const output = fromSignature?.output ?? script?.output ?? {};
  const error = { type: 'object', properties: { message: { type: 'string' } } };
  return {
    openapi: '3.0.1',
    info: {
      title: model ? `${model.name} ${model.version}` : 'berth scoring server',
      description: 'Scoring API served by berth',
      version: SERVER_VERSION,
    },
    paths: {
      '/': {
        get: {
          operationId: 'ServiceHealthCheck',
          description: 'Simple health check endpoint to ensure the service is up at any given point.',
          responses: {
            '200': { description: 'Healthy', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      '/score': {
        post: {
          operationId: 'RunMLService',
          description: 'Run the model on the request body',
          security: [{ Bearer: [] }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ServiceInput' } } },
          },
          responses: {
            '200': {
              description: 'Success',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ServiceOutput' } } },
            },
            default: {
              description: 'Failure',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
            },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        Bearer: { type: 'apiKey', name: 'Authorization', in: 'header', description: 'Bearer <key>' },
      },
      schemas: { ServiceInput: input, ServiceOutput: output, ErrorResponse: error },
    },
  };
}
