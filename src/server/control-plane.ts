/**
 * The control plane: the workspace, its targets and the gateway, composed once per server
 * process. `ControlPlane.start()` opens the workspace, starts the gateway and redeploys every
 * stored deployment in the background (`restored` settles when that is done); `close()` stops
 * the gateway, the deployments' replicas and the store, in that order.
 *
 * States: running → closing → closed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toBerthError } from '../core/errors.js';
import { startGateway, type Gateway } from '../endpoints/index.js';
import { ModelOperations } from '../registry/model-operations.js';
import { openWorkspaceParts, type WorkspaceParts } from '../workspace/index.js';
import { restoreDeployments } from './deployment-ops.js';
import { KeyedSerializer } from './serial.js';
import type { ControlPlaneState } from './state.js';
import { TargetSet } from './targets.js';

export type ControlPlaneLifecycle = 'running' | 'closing' | 'closed';

export interface ControlPlaneOptions {
  workspaceDir: string;
  host: string;
  /** undefined: the port the previous server's gateway used, else a free one. */
  gatewayPort: number | undefined;
}

const gatewayPortFile = 'gateway.json';

async function previousGatewayPort(workspaceDir: string): Promise<number | undefined> {
  try {
    const { port } = JSON.parse(await readFile(join(workspaceDir, gatewayPortFile), 'utf8')) as {
      port?: unknown;
    };
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps scoring URIs stable across restarts: the old port when it is free, else a new one. */
async function startGatewayOn(options: ControlPlaneOptions): Promise<Gateway> {
  const wanted = options.gatewayPort ?? (await previousGatewayPort(options.workspaceDir));
  let gateway: Gateway;
  try {
    gateway = await startGateway({ host: options.host, port: wanted ?? 0, drainTimeoutMs: 5000 });
  } catch (error) {
    if (options.gatewayPort !== undefined || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    gateway = await startGateway({ host: options.host, port: 0, drainTimeoutMs: 5000 });
  }
  await writeFile(join(options.workspaceDir, gatewayPortFile), `${JSON.stringify({ port: gateway.port })}\n`);
  return gateway;
}

export class ControlPlane {
  lifecycle: ControlPlaneLifecycle = 'running';
  /** Settles when every stored deployment has been redeployed (or recorded as Failed). */
  readonly restored: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly state: ControlPlaneState,
    private readonly workspace: WorkspaceParts,
    private readonly gateway: Gateway,
    onRestoreError: (message: string) => void,
  ) {
    this.restored = restoreDeployments(state).catch((error: unknown) =>
      onRestoreError(toBerthError(error).message),
    );
  }

  static async start(options: ControlPlaneOptions, log: (message: string) => void): Promise<ControlPlane> {
    const workspace = await openWorkspaceParts(options.workspaceDir);
    try {
      const gateway = await startGatewayOn(options);
      const state: ControlPlaneState = {
        workspaceDir: workspace.dir,
        store: workspace.store,
        // The same cache folder as the SDK's, so a model is materialised once per workspace.
        models: new ModelOperations(workspace.store, workspace.artifacts, join(workspace.dir, 'cache')),
        targets: new TargetSet(workspace.dir, workspace.store),
        gateway,
        gatewayUrl: gateway.url,
        serial: new KeyedSerializer(),
      };
      return new ControlPlane(state, workspace, gateway, (message) => log(`restore failed: ${message}`));
    } catch (error) {
      await workspace.store.close();
      throw error;
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.lifecycle = 'closing';
      await this.restored;
      await this.gateway.close();
      await this.state.serial.idle();
      await this.state.targets.close();
      await this.workspace.store.close();
      this.lifecycle = 'closed';
    })();
    return this.#closing;
  }
}
