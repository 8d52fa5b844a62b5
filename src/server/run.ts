/**
 * Runs a control plane over a workspace: takes the workspace lock, starts the gateway and the
 * REST API, redeploys the stored deployments, records `server.json`. `stop()` (or POST
 * /api/shutdown) undoes it all in reverse; `stopped` settles once it has.
 *
 * States: starting → running → stopping → stopped.
 */
import { writeServerFile, removeServerFile } from '../workspace/server-file.js';
import { ControlPlane } from './control-plane.js';
import { Router } from './http/router.js';
import { deploymentRoutes, endpointRoutes, workspaceRoutes } from './http/routes.js';
import { ApiServer } from './http/server.js';
import { acquireWorkspaceLock } from './lock.js';
import { resolveServerOptions, type ServerOptions } from './options.js';

export type ServerState = 'running' | 'stopping' | 'stopped';

export interface RunningServer {
  state: ServerState;
  url: string;
  gatewayUrl: string;
  token: string;
  /** Settles when the stored deployments are back (or recorded as Failed). */
  restored: Promise<void>;
  stop(): Promise<void>;
  /** Settles once the server has stopped, whoever stopped it. */
  stopped: Promise<void>;
}

export async function runServer(
  input: ServerOptions,
  log: (message: string) => void = () => undefined,
): Promise<RunningServer> {
  const options = resolveServerOptions(input);
  const lock = acquireWorkspaceLock(options.workspaceDir);
  let plane: ControlPlane | undefined;
  let api: ApiServer | undefined;
  try {
    plane = await ControlPlane.start(
      { workspaceDir: options.workspaceDir, host: options.host, gatewayPort: options.gatewayPort },
      log,
    );
    const state = plane.state;
    const router = new Router();
    let stop: () => Promise<void> = async () => undefined;
    const startedAt = new Date().toISOString();
    router
      .add('GET', '/api/status', async () => ({
        body: {
          pid: process.pid,
          url: api?.url ?? '',
          gatewayUrl: state.gatewayUrl,
          workspace: options.workspaceDir,
          startedAt,
          endpoints: (await state.store.listEndpoints()).length,
          deployments: (await state.store.listDeployments()).length,
        },
      }))
      .add('POST', '/api/shutdown', async () => {
        // Answer first: stopping closes this very connection.
        setImmediate(() => void stop());
        return { status: 202, body: { stopping: true } };
      });
    endpointRoutes(router, state);
    deploymentRoutes(router, state);
    workspaceRoutes(router, state);
    api = await ApiServer.start({ host: options.host, port: options.port, token: options.token, router });
    const server: RunningServer = {
      state: 'running',
      url: api.url,
      gatewayUrl: state.gatewayUrl,
      token: options.token,
      restored: plane.restored,
      stop: () => stop(),
      stopped: Promise.resolve(),
    };
    let resolveStopped: () => void = () => undefined;
    server.stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    let stopping: Promise<void> | undefined;
    const started = { plane, api };
    stop = () => {
      stopping ??= (async () => {
        server.state = 'stopping';
        try {
          await started.api.close();
          await started.plane.close();
          await removeServerFile(options.workspaceDir, process.pid);
        } finally {
          lock.release();
          server.state = 'stopped';
          resolveStopped();
        }
      })();
      return stopping;
    };
    await writeServerFile(options.workspaceDir, {
      pid: process.pid,
      url: api.url,
      gatewayUrl: state.gatewayUrl,
      token: options.token,
      workspace: options.workspaceDir,
      startedAt,
    });
    return server;
  } catch (error) {
    await api?.close();
    await plane?.close();
    lock.release();
    throw error;
  }
}
