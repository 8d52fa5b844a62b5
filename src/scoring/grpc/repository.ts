/**
 * Triton's model repository extension over gRPC, with the HTTP routes' semantics: the index lists
 * what the repository can load, a load resolves the model to files and loads it (the old version
 * serves until the new one is warm), an unload takes every version off at once while the requests
 * already running on it finish. Without a repository the three RPCs refuse with the HTTP
 * routes' message.
 *
 * The requests also carry fields berth cannot honour; each is refused with a message rather than
 * ignored, so a client never believes an override took effect.
 */
import { BerthError } from '../../core/errors.js';
import type { InferenceEngine, ModelRepository } from '../engine.js';
import type {
  RepositoryIndexRequest,
  RepositoryIndexResponse,
  RepositoryModelRequest,
  RepositoryParameter,
} from './messages.js';
import { versionsOf } from './models.js';

export interface RepositoryContext {
  engine: InferenceEngine;
  repository: ModelRepository | undefined;
}

function repositoryOf(context: RepositoryContext): ModelRepository {
  if (context.repository === undefined) {
    throw new BerthError(
      'BAD_INPUT',
      'the model repository API is off: this server was started without a model repository',
    );
  }
  return context.repository;
}

/** berth serves one repository and it has no name; Triton's "any repository" is the empty name. */
function checkRepositoryName(name: string): void {
  if (name !== '') {
    throw new BerthError(
      'NOT_FOUND',
      `unknown repository "${name}": this server has one model repository, which has no name; leave repository_name empty`,
    );
  }
}

export async function repositoryIndex(
  context: RepositoryContext,
  request: RepositoryIndexRequest,
): Promise<RepositoryIndexResponse> {
  const repository = repositoryOf(context);
  checkRepositoryName(request.repository_name);
  const entries = await repository.index();
  return { models: request.ready ? entries.filter((entry) => entry.state === 'READY') : entries };
}

export async function repositoryLoad(
  context: RepositoryContext,
  request: RepositoryModelRequest,
): Promise<object> {
  const repository = repositoryOf(context);
  checkRepositoryName(request.repository_name);
  const name = requireModelName(request);
  const [key] = Object.keys(request.parameters);
  if (key !== undefined) {
    const what =
      key === 'config'
        ? 'a configuration override'
        : key.startsWith('file:')
          ? 'model files sent with the request'
          : 'an unknown parameter';
    throw new BerthError(
      'BAD_INPUT',
      `RepositoryModelLoad parameter "${key}" (${what}) is not supported: berth loads a model as it is registered, so send no parameters`,
    );
  }
  const model = await repository.resolve(name, undefined);
  await context.engine.load(model);
  return {};
}

export async function repositoryUnload(
  context: RepositoryContext,
  request: RepositoryModelRequest,
): Promise<object> {
  repositoryOf(context);
  checkRepositoryName(request.repository_name);
  const name = requireModelName(request);
  for (const [key, value] of Object.entries(request.parameters)) {
    // tritonclient always sends unload_dependents; a berth model has no dependents to unload.
    if (key === 'unload_dependents' && isBoolean(value)) continue;
    throw new BerthError(
      'BAD_INPUT',
      key === 'unload_dependents'
        ? 'RepositoryModelUnload parameter "unload_dependents" must be a bool_param'
        : `RepositoryModelUnload parameter "${key}" is not supported: only "unload_dependents" is`,
    );
  }
  if (versionsOf(context.engine.models(), name).length === 0)
    throw new BerthError('NOT_FOUND', `unknown model "${name}"`);
  await context.engine.unload(name);
  return {};
}

function requireModelName(request: RepositoryModelRequest): string {
  if (request.model_name === '') throw new BerthError('BAD_INPUT', 'model_name is required');
  return request.model_name;
}

function isBoolean(value: RepositoryParameter): boolean {
  return value.parameter_choice === 'bool_param';
}
