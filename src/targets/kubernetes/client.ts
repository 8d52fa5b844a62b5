/**
 * One cluster as berth talks to it: the kubeconfig's context, the namespace, discovery, server-side
 * apply (field manager `berth`, forced: the fields berth sets are berth's, every other field is
 * left as it is), reads, deletion by label, and watches. API errors become BerthErrors carrying
 * the server's own message (a rejected field names its path).
 */
import { existsSync } from 'node:fs';
import { ApisApi, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch } from '@kubernetes/client-node';
import { BerthError, type ErrorCode } from '../../core/errors.js';
import type { ResolvedKubernetesTargetConfig } from './config.js';
import { chooseApis, type ServedApis } from './discovery.js';
import { fieldManager } from './names.js';
import { describeObject, type KubeObject } from './objects.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface Applied {
  object: KubeObject;
  action: ApplyAction;
}

interface ApiFailure {
  code?: number;
  body?: unknown;
  message?: string;
}

function statusMessage(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return statusMessage(JSON.parse(body));
    } catch {
      return body === '' ? undefined : body;
    }
  }
  if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message);
  return undefined;
}

/** The server's reason for a failed call, as a BerthError with a code that says what to do. */
export function apiError(what: string, error: unknown): BerthError {
  if (error instanceof BerthError) return error;
  const failure = error as ApiFailure;
  const status = typeof failure.code === 'number' && failure.code >= 100 ? failure.code : undefined;
  const message = statusMessage(failure.body) ?? failure.message ?? String(error);
  const codes: Record<number, ErrorCode> = {
    400: 'INVALID_SPEC',
    401: 'UNAUTHORIZED',
    403: 'UNAUTHORIZED',
    404: 'NOT_FOUND',
    409: 'CONFLICT',
    422: 'INVALID_SPEC',
  };
  // Kubernetes before 1.22 answers 500 when a server-side apply has a wrongly typed field; the
  // message names the field, so it is the spec's error, as a 422 is.
  const typed = status === 500 && /failed to create typed patch object/.test(message);
  const code = status === undefined ? 'NOT_READY' : typed ? 'INVALID_SPEC' : (codes[status] ?? 'INTERNAL');
  const where = status === undefined ? 'the cluster did not answer' : `the cluster answered ${status}`;
  return new BerthError(code, `${what}: ${where}: ${message}`, { cause: error });
}

/**
 * What moves when an object's desired state changes: its generation where it has one (controllers
 * writing status move the resourceVersion, not the generation), else its resourceVersion. The
 * server writes nothing, and moves neither, when an apply changes no field.
 */
export function changeMark(object: KubeObject): string {
  const metadata = object.metadata as { generation?: number; resourceVersion?: string };
  return metadata.generation !== undefined ? `g${metadata.generation}` : `v${metadata.resourceVersion ?? ''}`;
}

export class Cluster {
  readonly namespace: string;
  readonly server: string;
  readonly objects: KubernetesObjectApi;
  private apis: ServedApis | undefined;

  private constructor(
    readonly config: KubeConfig,
    namespace: string | undefined,
  ) {
    const context = config.getContextObject(config.getCurrentContext());
    this.namespace = namespace ?? context?.namespace ?? 'default';
    this.server = config.getCurrentCluster()?.server ?? '(no server)';
    this.objects = KubernetesObjectApi.makeApiClient(config);
  }

  static open(target: Pick<ResolvedKubernetesTargetConfig, 'kubeconfig' | 'context' | 'namespace'>): Cluster {
    if (!existsSync(target.kubeconfig)) {
      throw new BerthError(
        'INVALID_SPEC',
        `kubernetes target: no kubeconfig at ${target.kubeconfig} (set KUBECONFIG, or berth target create --kubeconfig)`,
      );
    }
    const config = new KubeConfig();
    try {
      config.loadFromFile(target.kubeconfig);
    } catch (error) {
      throw new BerthError(
        'INVALID_SPEC',
        `kubernetes target: cannot read ${target.kubeconfig}: ${String(error)}`,
      );
    }
    if (target.context !== undefined) {
      if (config.getContextObject(target.context) === null) {
        const known = config.getContexts().map((context) => context.name);
        throw new BerthError(
          'INVALID_SPEC',
          `kubernetes target: no context ${JSON.stringify(target.context)} in ${target.kubeconfig} (it has ${known.join(', ') || 'none'})`,
        );
      }
      config.setCurrentContext(target.context);
    }
    return new Cluster(config, target.namespace);
  }

  /**
   * The cluster a pod runs in, as its service account (KubeConfig.loadFromCluster(): the API
   * server from KUBERNETES_SERVICE_HOST/PORT, the token and CA the kubelet mounts).
   */
  static inCluster(namespace: string | undefined): Cluster {
    const config = new KubeConfig();
    config.loadFromCluster();
    if (config.getCurrentCluster()?.server.includes('undefined') === true) {
      throw new BerthError(
        'INVALID_SPEC',
        'not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set',
      );
    }
    return new Cluster(config, namespace);
  }

  /** The API versions berth writes, from the server's discovery (asked once per Cluster). */
  async servedApis(): Promise<ServedApis> {
    if (this.apis !== undefined) return this.apis;
    let groups;
    try {
      groups = await this.config.makeApiClient(ApisApi).getAPIVersions();
    } catch (error) {
      throw apiError(`discovery at ${this.server}`, error);
    }
    const versions = groups.groups.flatMap((group) => group.versions.map((version) => version.groupVersion));
    this.apis = chooseApis(versions);
    return this.apis;
  }

  async read(object: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>): Promise<KubeObject | undefined> {
    try {
      return (await this.objects.read({
        apiVersion: object.apiVersion,
        kind: object.kind,
        metadata: { name: object.metadata.name, namespace: object.metadata.namespace ?? this.namespace },
      })) as unknown as KubeObject;
    } catch (error) {
      if ((error as ApiFailure).code === 404) return undefined;
      throw apiError(`reading ${describeObject(object)}`, error);
    }
  }

  /**
   * Server-side apply of `object`. With `dryRun`, the server validates and defaults it against its
   * own schemas and admission, and stores nothing. The action compares changeMark() before and after.
   */
  async apply(object: KubeObject, dryRun = false): Promise<Applied> {
    const before = await this.read(object);
    let after: KubeObject;
    try {
      after = await this.objects.patch(
        object,
        undefined,
        dryRun ? 'All' : undefined,
        fieldManager,
        true,
        PatchStrategy.ServerSideApply,
      );
    } catch (error) {
      throw apiError(`${dryRun ? 'validating' : 'applying'} ${describeObject(object)}`, error);
    }
    const action: ApplyAction =
      before === undefined
        ? 'created'
        : changeMark(before) === changeMark(after)
          ? 'unchanged'
          : 'configured';
    return { object: after, action };
  }

  async list(apiVersion: string, kind: string, labelSelector: string): Promise<KubeObject[]> {
    try {
      const list = await this.objects.list(
        apiVersion,
        kind,
        this.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        labelSelector,
      );
      return list.items.map((item) => ({ apiVersion, kind, ...item }) as unknown as KubeObject);
    } catch (error) {
      throw apiError(`listing ${kind} in ${this.namespace}`, error);
    }
  }

  /** Deletes one object; one already gone counts as deleted. Dependents go in the background. */
  async delete(object: KubeObject): Promise<void> {
    try {
      await this.objects.delete(
        { apiVersion: object.apiVersion, kind: object.kind, metadata: object.metadata },
        undefined,
        undefined,
        undefined,
        undefined,
        'Background',
      );
    } catch (error) {
      if ((error as ApiFailure).code === 404) return;
      throw apiError(`deleting ${describeObject(object)}`, error);
    }
  }

  /**
   * Watches `path` (e.g. /api/v1/namespaces/ml/pods) from now on; `onEvent` gets each change,
   * `onEnd` the error that ended it (undefined when the server closed it). Abort to stop.
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: (type: string, object: unknown) => void,
    onEnd: (error: unknown) => void,
  ): Promise<AbortController> {
    try {
      return await new Watch(this.config).watch(path, query, onEvent, onEnd);
    } catch (error) {
      throw apiError(`watching ${path}`, error);
    }
  }
}
