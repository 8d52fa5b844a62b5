import type { Workspace } from '../sdk/workspace.js';
import type { CliIo } from './output.js';

/** What every command gets: where to print and how to reach the workspace. */
export interface CliContext {
  io: CliIo;
  /** Opens the workspace named by --workspace, $BERTH_WORKSPACE or ./.berth; closed after the command. */
  openWorkspace(): Promise<Workspace>;
  workspaceDir(): string | undefined;
}
