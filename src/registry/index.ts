/** Model registration and introspection: what a model file is and what it takes and gives. */
export { readOnnxSignature } from './onnx-signature.js';
export { readOnnxHeader } from './onnx-header.js';
export type { OnnxHeader } from './onnx-header.js';
export { checkFramework, detectFramework, parseFramework } from './framework.js';
export type { FrameworkChoice, FrameworkOptions } from './framework.js';
export { describeReading, inspectPythonModel, isInspected } from './python-model.js';
export type { PythonModelReading } from './python-model.js';
