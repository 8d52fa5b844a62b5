import type { Command } from 'commander';
import { Workspace } from '../../sdk/workspace.js';
import type { CliContext } from '../context.js';
import { printJson } from '../output.js';

export function registerInitCommand(program: Command, context: CliContext): void {
  program
    .command('init')
    .description(
      'create a workspace (SQLite metadata + artifact store) in ./.berth or $BERTH_WORKSPACE; safe to run twice',
    )
    .option('--json', 'print {"dir": ..., "schemaVersion": ...} instead of text')
    .action(async (options: { json?: boolean }) => {
      const workspace = await Workspace.init({ dir: context.workspaceDir() });
      try {
        const schemaVersion = await workspace.schemaVersion();
        if (options.json) printJson(context.io, { dir: workspace.dir, schemaVersion });
        else context.io.stdout.write(`workspace ready at ${workspace.dir} (schema ${schemaVersion})\n`);
      } finally {
        await workspace.close();
      }
    });
}
