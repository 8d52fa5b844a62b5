// Writes request.json: one 3x48x192 image for the PP-OCR direction classifier, as the model wants
// it (float32, normalised to [-1, 1]): dark text-like strokes on a light background.
// Run: node examples/endpoints/ocr/make-request.js && npx prettier --write examples/endpoints/ocr/request.json
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const height = 48;
const width = 192;
const pixel = (y, x) => {
  const stroke = x > 12 && x < 180 && y > 14 && y < 34 && (x % 14 < 3 || y === 20 || y === 28);
  return stroke ? -0.8 : 0.9;
};
const image = [0, 1, 2].map(() =>
  Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => pixel(y, x))),
);
const target = fileURLToPath(new URL('./request.json', import.meta.url));
writeFileSync(target, `${JSON.stringify({ data: [image] })}\n`);
console.log(`wrote ${target}`);
