/** The control plane: REST API, gateway and target supervision over one workspace. */
export { runServer, type RunningServer, type ServerState } from './run.js';
export {
  isLoopback,
  resolveServerOptions,
  type ResolvedServerOptions,
  type ServerOptions,
} from './options.js';
export { openApiDocument } from './openapi.js';
export { acquireWorkspaceLock, type WorkspaceLock } from './lock.js';
