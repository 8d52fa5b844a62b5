import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createProgressBar } from '../../src/cli/progress-bar.js';
import type { CliIo } from '../../src/cli/output.js';

function capture(isTTY: boolean): { io: CliIo; text: () => string } {
  let written = '';
  const sink = (): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
  const stderr = Object.assign(sink(), { isTTY, columns: 100 });
  return { io: { stdout: sink(), stderr }, text: () => written };
}

const MB = 1024 * 1024;

test('a transfer over a few MB draws a bar on a terminal and ends the line', async () => {
  const { io, text } = capture(true);
  const bar = createProgressBar(io, 'registering');
  assert.ok(bar);
  bar(0, 50 * MB);
  bar(50 * MB, 50 * MB);
  bar.finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.match(text(), /\rregistering \[-+\] {3}0% 0 B\/50\.0 MB/);
  assert.match(text(), /\rregistering \[#+\] 100% 50\.0 MB\/50\.0 MB\n$/);
});

test('a small transfer, or any transfer off a terminal, prints nothing', async () => {
  const terminal = capture(true);
  const bar = createProgressBar(terminal.io, 'downloading');
  bar?.(1024, 2048);
  bar?.(2048, 2048);
  bar?.finish();
  const piped = capture(false);
  assert.equal(createProgressBar(piped.io, 'downloading'), undefined);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(terminal.text(), '');
  assert.equal(piped.text(), '');
});
