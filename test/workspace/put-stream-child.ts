/**
 * Child process for the crash-safety test: slowly streams 200 MiB into the artifact store at
 * argv[2], printing `progress <bytes>` lines, so the parent can SIGKILL it mid-write.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openArtifactStore } from '../../src/workspace/index.js';

const root = process.argv[2];
if (root === undefined) throw new Error('usage: put-stream-child <artifact root>');
const chunk = 1024 * 1024;
const chunks = 200;

async function* slowSource(): AsyncGenerator<Buffer> {
  for (let i = 0; i < chunks; i += 1) {
    yield Buffer.alloc(chunk, i % 251);
    await sleep(5);
  }
}

const store = await openArtifactStore(root);
await store.putStream(slowSource(), {
  fileName: 'big.bin',
  size: chunk * chunks,
  onProgress: (done) => process.stdout.write(`progress ${done}\n`),
});
process.stdout.write('done\n');
