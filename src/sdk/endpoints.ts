/**
 * Endpoints and deployments, through the workspace's control plane (started on first need).
 *
 * ```ts
 * const endpoints = workspace.endpoints;
 * await endpoints.create({ file: 'examples/endpoints/ocr/endpoint.yml' });
 * await endpoints.createDeployment({ file: 'examples/endpoints/ocr/blue.yml', allTraffic: true });
 * const answer = await endpoints.invoke('ocr', { body: await readFile('request.json') });
 * ```
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../core/errors.js';
import { assertName } from '../core/names.js';
import {
  applySpecEdits,
  deploymentTargetWarnings,
  deploymentViewSchema,
  endpointKeysSchema,
  endpointViewSchema,
  parseEndpointYaml,
  readDeploymentYaml,
  serverStatusSchema,
  type DeploymentSpec,
  type DeploymentView,
  type EndpointKeys,
  type EndpointSpec,
  type EndpointView,
  type ServerStatus,
} from '../core/specs/index.js';
import { readSpecFile } from '../core/spec-file.js';
import type { SpecIssue } from '../core/yaml.js';
import type { LogLine } from '../targets/target.js';
import { targetKinds } from '../targets/target.js';
import { openWorkspaceParts } from '../workspace/index.js';
import { ControlPlaneClient, type ConnectOptions } from './control-plane-client.js';

export interface EndpointOperationsOptions {
  workspaceDir: string;
  /**
   * The kind of a target name (a kind is its own; a named target's from the workspace), so the
   * warnings about fields a target ignores speak of the target a deployment really went to.
   * Default: the workspace's store is opened for the lookup.
   */
  targetKind?: (name: string) => Promise<string | undefined>;
  /** How the control plane is reached or started. Default: auto-start on loopback. */
  connect?: ConnectOptions;
}

export interface CreateEndpointOptions {
  /** An endpoint YAML file (Azure ML managedOnlineEndpoint shape). */
  file?: string;
  /** A spec instead of a file. */
  spec?: EndpointSpec;
  /** Overrides the file's name; enough on its own for an endpoint with defaults. */
  name?: string;
}

export interface CreateDeploymentOptions {
  /** A deployment YAML file (Azure ML managedOnlineDeployment / kubernetesOnlineDeployment shape). */
  file?: string;
  spec?: DeploymentSpec;
  /** Folder a `spec`'s relative paths resolve against. Default: the file's folder, else the cwd. */
  baseDir?: string;
  name?: string;
  endpointName?: string;
  /** Give it 100% of live traffic once healthy. Default false. */
  allTraffic?: boolean;
  /** `key=value` edits (dotted paths) applied to the file's spec, e.g. `target=dev-docker`. Default none. */
  set?: string[];
}

export interface UpdateDeploymentOptions {
  /** `key=value` edits with dotted paths, e.g. `request_settings.request_timeout_ms=2000`. */
  set?: string[];
  /** A new deployment YAML file. */
  file?: string;
}

export interface EndpointChanges {
  /** The whole split: deployments not named get 0. */
  traffic?: Record<string, number>;
  mirror?: Record<string, number>;
  description?: string;
  tags?: Record<string, string>;
  authMode?: 'key' | 'none';
}

export interface InvokeOptions {
  /** The request body: bytes or text are sent as is, anything else as JSON. */
  body: unknown;
  /** Send to this deployment (header `berth-deployment`), whatever the traffic split says. */
  deployment?: string;
  /** Default application/json. */
  contentType?: string;
  /** Path under the endpoint. Default `score`. */
  path?: string;
}

export interface InvokeResult {
  status: number;
  /** The deployment that answered (header `berth-deployment`). */
  deployment: string | undefined;
  contentType: string | undefined;
  body: string;
}

const logLineSchema = z.object({
  replica: z.string(),
  time: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  text: z.string(),
});

const operationSchema = z.object({ deployment: deploymentViewSchema, messages: z.array(z.string()) });
const deletedSchema = z.object({ deleted: z.string() });

const enc = encodeURIComponent;

export class EndpointOperations {
  #client: Promise<ControlPlaneClient> | undefined;

  constructor(private readonly options: EndpointOperationsOptions) {}

  /** The control plane, started on first use. */
  client(): Promise<ControlPlaneClient> {
    this.#client ??= ControlPlaneClient.connect(this.options.workspaceDir, this.options.connect).catch(
      (error: unknown) => {
        this.#client = undefined;
        throw error;
      },
    );
    return this.#client;
  }

  async create(options: CreateEndpointOptions): Promise<{ endpoint: EndpointView; warnings: SpecIssue[] }> {
    const parsed = await readEndpointSpec(options);
    const client = await this.client();
    const endpoint = await client.request('POST', '/api/endpoints', endpointViewSchema, {
      spec: parsed.spec,
    });
    return { endpoint, warnings: parsed.warnings };
  }

  async list(): Promise<EndpointView[]> {
    return (await this.client()).request('GET', '/api/endpoints', z.array(endpointViewSchema));
  }

  async get(name: string): Promise<EndpointView> {
    return (await this.client()).request(
      'GET',
      `/api/endpoints/${enc(assertName(name, 'endpoint name'))}`,
      endpointViewSchema,
    );
  }

  async update(name: string, changes: EndpointChanges): Promise<EndpointView> {
    const path = `/api/endpoints/${enc(assertName(name, 'endpoint name'))}`;
    return (await this.client()).request('PATCH', path, endpointViewSchema, changes);
  }

  /** Deletes the endpoint and all its deployments. */
  async delete(name: string): Promise<void> {
    await (
      await this.client()
    ).request('DELETE', `/api/endpoints/${enc(assertName(name, 'endpoint name'))}`, deletedSchema);
  }

  async getCredentials(name: string): Promise<EndpointKeys> {
    const path = `/api/endpoints/${enc(assertName(name, 'endpoint name'))}/keys`;
    return (await this.client()).request('GET', path, endpointKeysSchema);
  }

  async regenerateKeys(name: string, keyType: 'primary' | 'secondary'): Promise<EndpointKeys> {
    const path = `/api/endpoints/${enc(assertName(name, 'endpoint name'))}/keys/regenerate`;
    return (await this.client()).request('POST', path, endpointKeysSchema, { keyType });
  }

  /** Sends a request through the gateway, with the endpoint's primary key. Non-2xx answers are returned, not thrown. */
  async invoke(name: string, options: InvokeOptions): Promise<InvokeResult> {
    const endpoint = await this.get(name);
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
    if (endpoint.authMode === 'key')
      headers.authorization = `Bearer ${(await this.getCredentials(name)).primaryKey}`;
    if (options.deployment !== undefined)
      headers['berth-deployment'] = assertName(options.deployment, 'deployment name');
    const body = options.body;
    const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const url = endpoint.scoringUri.replace(/\/score$/, `/${options.path ?? 'score'}`);
    const response = await fetch(url, { method: 'POST', headers, body: payload }).catch((error: unknown) => {
      throw new BerthError('NOT_READY', `cannot reach the gateway at ${url}`, { cause: error });
    });
    return {
      status: response.status,
      deployment: response.headers.get('berth-deployment') ?? undefined,
      contentType: response.headers.get('content-type') ?? undefined,
      body: await response.text(),
    };
  }

  async createDeployment(
    options: CreateDeploymentOptions,
  ): Promise<{ deployment: DeploymentView; warnings: SpecIssue[]; messages: string[] }> {
    const parsed = await readDeploymentSpec(options);
    const spec =
      (options.set ?? []).length === 0 ? parsed.spec : applySpecEdits(parsed.spec, options.set ?? []);
    const client = await this.client();
    const path = `/api/endpoints/${enc(spec.endpoint_name ?? '')}/deployments`;
    const answer = await client.request('POST', path, operationSchema, {
      spec,
      baseDir: parsed.baseDir,
      allTraffic: options.allTraffic ?? false,
    });
    // The target is known now: the spec's, else the endpoint's default (the answer says which).
    const warnings = [
      ...parsed.fileWarnings,
      ...(await this.targetWarnings(spec, parsed, answer.deployment.target)),
    ];
    return { ...answer, warnings };
  }

  /** Warnings about the spec's fields that `targetName` ignores (and a Kubernetes file sent elsewhere). */
  private async targetWarnings(
    spec: DeploymentSpec,
    parsed: Pick<ReadSpec, 'file' | 'lineOf'>,
    targetName: string,
  ): Promise<SpecIssue[]> {
    const lookup = this.options.targetKind ?? ((name) => recordedKind(this.options.workspaceDir, name));
    const kind = (await lookup(targetName)) ?? targetName;
    return deploymentTargetWarnings(spec, parsed.file, parsed.lineOf, { name: targetName, kind });
  }

  async listDeployments(endpointName: string): Promise<DeploymentView[]> {
    const path = `/api/endpoints/${enc(assertName(endpointName, 'endpoint name'))}/deployments`;
    return (await this.client()).request('GET', path, z.array(deploymentViewSchema));
  }

  async getDeployment(endpointName: string, name: string): Promise<DeploymentView> {
    return (await this.client()).request('GET', deploymentPath(endpointName, name), deploymentViewSchema);
  }

  /** A rolling update: new replicas are ready before the old ones drain. */
  async updateDeployment(
    endpointName: string,
    name: string,
    options: UpdateDeploymentOptions,
  ): Promise<{ deployment: DeploymentView; warnings: SpecIssue[]; messages: string[] }> {
    const parsed =
      options.file === undefined
        ? undefined
        : await readDeploymentSpec({ file: options.file, name, endpointName });
    if (parsed === undefined && (options.set ?? []).length === 0) {
      throw new BerthError('BAD_INPUT', 'nothing to update: give --set key=value or -f FILE');
    }
    const answer = await (
      await this.client()
    ).request('PATCH', deploymentPath(endpointName, name), operationSchema, {
      edits: options.set ?? [],
      spec: parsed?.spec,
      baseDir: parsed?.baseDir,
    });
    const warnings =
      parsed === undefined
        ? []
        : [
            ...parsed.fileWarnings,
            ...(await this.targetWarnings(parsed.spec, parsed, answer.deployment.target)),
          ];
    return { ...answer, warnings };
  }

  /** Refused while the deployment takes live or mirrored traffic. */
  async deleteDeployment(endpointName: string, name: string): Promise<void> {
    await (await this.client()).request('DELETE', deploymentPath(endpointName, name), deletedSchema);
  }

  async *deploymentLogs(
    endpointName: string,
    name: string,
    options: { lines?: number; follow?: boolean; signal?: AbortSignal } = {},
  ): AsyncIterable<LogLine> {
    const query = `lines=${options.lines ?? 100}&follow=${options.follow === true}`;
    const client = await this.client();
    yield* client.lines(`${deploymentPath(endpointName, name)}/logs?${query}`, logLineSchema, options.signal);
  }

  async serverStatus(): Promise<ServerStatus> {
    return (await this.client()).request('GET', '/api/status', serverStatusSchema);
  }
}

/** A target name's kind: a kind is its own; a named target's is in the workspace's store. */
async function recordedKind(workspaceDir: string, name: string): Promise<string | undefined> {
  if ((targetKinds as readonly string[]).includes(name)) return name;
  const parts = await openWorkspaceParts(workspaceDir);
  try {
    return (await parts.store.getTarget(name))?.kind;
  } finally {
    await parts.store.close();
  }
}

function deploymentPath(endpointName: string, name: string): string {
  return `/api/endpoints/${enc(assertName(endpointName, 'endpoint name'))}/deployments/${enc(assertName(name, 'deployment name'))}`;
}

async function readEndpointSpec(
  options: CreateEndpointOptions,
): Promise<{ spec: EndpointSpec; warnings: SpecIssue[] }> {
  if (options.file !== undefined) {
    const text = await readSpecFile(resolve(options.file), options.file);
    return parseEndpointYaml(text, options.file, { name: options.name });
  }
  const spec: EndpointSpec = { ...(options.spec ?? {}), name: options.name ?? options.spec?.name };
  if (spec.name === undefined)
    throw new BerthError('BAD_INPUT', 'give an endpoint file (-f) or a name (--name)');
  return { spec, warnings: [] };
}

/** A deployment spec read for create or update: its target-dependent warnings come once the target is known. */
interface ReadSpec {
  spec: DeploymentSpec;
  baseDir: string;
  /** The file in messages (`--spec` for a spec given as an object). */
  file: string;
  fileWarnings: SpecIssue[];
  lineOf: (path: readonly (string | number)[]) => number | undefined;
}

async function readDeploymentSpec(options: CreateDeploymentOptions): Promise<ReadSpec> {
  const overrides = { name: options.name, endpointName: options.endpointName };
  if (options.file !== undefined) {
    const path = resolve(options.file);
    const read = readDeploymentYaml(await readSpecFile(path, options.file), options.file, overrides);
    return { ...read, file: options.file, baseDir: options.baseDir ?? dirname(path) };
  }
  if (options.spec === undefined) throw new BerthError('BAD_INPUT', 'give a deployment file (-f) or a spec');
  const spec: DeploymentSpec = {
    ...options.spec,
    name: options.name ?? options.spec.name,
    endpoint_name: options.endpointName ?? options.spec.endpoint_name,
  };
  if (spec.name === undefined || spec.endpoint_name === undefined) {
    throw new BerthError('BAD_INPUT', 'a deployment needs a name and an endpoint name');
  }
  return {
    spec,
    baseDir: resolve(options.baseDir ?? '.'),
    file: 'spec',
    fileWarnings: [],
    lineOf: () => undefined,
  };
}

export type { ServerStatus };
