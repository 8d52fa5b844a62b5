/**
 * One function instance as a process: `node instance-main.js <package> <kind>`, started by the
 * local function host with an IPC channel. It loads the package's handler as the platform would
 * (the entry file; for azure-functions the handler module the entry registers, since the
 * registration itself needs the Functions host), says `loaded`, then answers each invocation by
 * calling the handler with the platform's event shape (events.ts). Output goes to stdout/stderr,
 * which the host keeps as the deployment's logs.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { toBerthError } from '../../../core/errors.js';
import { isFunctionKind, type FunctionKind } from '../kinds.js';
import { callHandler, type Handler } from './events.js';
import type { HostMessage, InstanceMessage } from './messages.js';

const entryFiles: Record<FunctionKind, { file: string; name: string }> = {
  fetch: { file: 'index.js', name: 'handle' },
  'aws-lambda': { file: 'index.mjs', name: 'handler' },
  'azure-functions': { file: join('berth', 'azure-functions.js'), name: 'handler' },
};

function reply(message: InstanceMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const [root, kind] = process.argv.slice(2);
  if (root === undefined || kind === undefined || !isFunctionKind(kind) || process.send === undefined)
    throw new Error(
      'usage: instance-main.js <package> <fetch|aws-lambda|azure-functions> (with an IPC channel)',
    );
  const entry = entryFiles[kind];
  const module = (await import(pathToFileURL(join(root, entry.file)).href)) as Record<string, unknown>;
  const handler = module[entry.name];
  if (typeof handler !== 'function') throw new Error(`${entry.file} exports no ${entry.name} function`);
  process.on('message', (message: HostMessage) => {
    if (message.type !== 'invoke') return;
    callHandler(kind, handler as Handler, message.request).then(
      (answer) => reply({ type: 'answer', id: message.id, answer }),
      (error: unknown) => reply({ type: 'failed', id: message.id, message: toBerthError(error).message }),
    );
  });
  // The host ends an instance by closing the channel (scale to zero) or with SIGTERM.
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'loaded' });
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ event: 'failed', message: toBerthError(error).message })}\n`);
  process.exit(1);
});
