import { CommanderError, type Command } from 'commander';
import { hasErrorCode, toBerthError } from '../core/errors.js';
import type { CliIo } from './output.js';

/** Runs a parsed program and returns its exit code; errors become one line on stderr. */
export async function runProgram(program: Command, argv: string[], io: CliIo): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version "errors" are commander's way to stop; they exit 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    const berth = toBerthError(error);
    const detail = hasErrorCode(error) ? '' : ` (${berth.code})`;
    io.stderr.write(`berth: error: ${berth.message.split('\n')[0] ?? ''}${detail}\n`);
    if (berth.message.includes('\n')) io.stderr.write(`${berth.message.split('\n').slice(1).join('\n')}\n`);
    return berth.exitCode;
  }
}
