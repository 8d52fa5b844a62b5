/**
 * The settings a workspace supplies to every target it opens: where the local target keeps its
 * replica logs and run files, where the container target caches its scoring-server bundle, and
 * where the function target keeps its packages and logs. `berth target create` validates a
 * recorded target with the same defaults the control plane opens it with.
 */
import { join } from 'node:path';

export function withWorkspaceDefaults<C extends Record<string, unknown> & { kind: string }>(
  config: C,
  workspaceDir: string,
): C {
  switch (config.kind) {
    case 'local':
      return { ...config, logsDir: join(workspaceDir, 'logs'), runDir: join(workspaceDir, 'run') };
    case 'container':
      return { ...config, cacheDir: config.cacheDir ?? join(workspaceDir, 'cache', 'container') };
    case 'function':
      return { ...config, workDir: config.workDir ?? join(workspaceDir, 'function') };
    case 'edge':
      return { ...config, workDir: config.workDir ?? join(workspaceDir, 'edge') };
    default:
      return config;
  }
}
