import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { onnxRuntimeReason } from './onnx-signature.js';

void describe('onnxRuntimeReason', () => {
  void it('drops the load prefix and the C++ source location, keeping the first line', () => {
    const message =
      'Load model from /tmp/a.onnx failed:/onnxruntime_src/onnxruntime/core/graph/model.cc:187 ' +
      'onnxruntime::Model::Model(onnx::ModelProto&&, const onnxruntime::PathString&) ModelProto does not have a graph.\n' +
      'second line';
    assert.equal(onnxRuntimeReason(new Error(message)), 'ModelProto does not have a graph.');
  });

  void it('keeps a plain message and names an empty one', () => {
    assert.equal(onnxRuntimeReason(new Error('Protobuf parsing failed.')), 'Protobuf parsing failed.');
    assert.equal(onnxRuntimeReason(new Error('\n')), 'ONNX Runtime gave no reason');
  });
});
