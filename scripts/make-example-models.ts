/**
 * Writes the example models under examples/models/ from the test fixture builder, so the committed
 * files are reproducible byte for byte (a registry test compares them with the builder's output).
 * Run with `npm run examples:models`.
 */
import { buildLinearModel, buildMlpModel, writeModel } from '../test/fixtures/onnx-builder.js';
import { exampleModelsDir } from '../test/fixtures/paths.js';

const models = { 'linear.onnx': buildLinearModel(), 'mlp.onnx': buildMlpModel() };

for (const [fileName, bytes] of Object.entries(models)) {
  const path = writeModel(exampleModelsDir, fileName, bytes);
  console.log(`wrote ${path} (${bytes.length} bytes)`);
}
