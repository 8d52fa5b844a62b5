import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerServeCommand(_program: Command, _context: CliContext): void {}
