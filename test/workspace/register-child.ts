/**
 * Child process for the concurrent-allocation test: waits until the shared start time, then
 * registers `count` versions of `name` in the store at `dbFile` and prints their numbers as JSON.
 * With a fifth argument `create`, the database may not exist yet (the children race to create it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteMetadataStore } from '../../src/workspace/index.js';
import { sampleModel } from './fixtures.js';

const [dbFile, name, count, startAt, create] = process.argv.slice(2);
if (dbFile === undefined || name === undefined || count === undefined || startAt === undefined) {
  throw new Error('usage: register-child <dbFile> <name> <count> <startAtMs>');
}
const store = await openSqliteMetadataStore(dbFile, { mustExist: create !== 'create' });
await sleep(Math.max(0, Number(startAt) - Date.now()));
const versions: number[] = [];
for (let i = 0; i < Number(count); i += 1) {
  versions.push(
    (await store.createModelVersion(sampleModel(name, { description: `pid ${process.pid} #${i}` }))).version,
  );
}
await store.close();
process.stdout.write(JSON.stringify(versions));
