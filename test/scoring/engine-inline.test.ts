import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { EngineOptions, InferRequest, InferResponse } from '../../src/scoring/engine.js';
import { createEngine, type ScoringEngine } from '../../src/scoring/engine/index.js';
import {
  fp32,
  identityModel,
  linearModel,
  mlpModel,
  options,
  tempDir,
  values,
  writeScript,
} from './engine-helpers.js';

const inline = (mode: EngineOptions['execution']['inline'], inlineMaxRunMs = 0.1) => ({
  execution: { inline: mode, inlineMaxRunMs },
});

function mlpRequest(index: number): InferRequest {
  return {
    model: 'mlp',
    version: undefined,
    outputs: undefined,
    inputs: { features: fp32([1, 4], [index / 10, -index / 7, (index % 5) - 2, Math.sin(index)]) },
  };
}

function typesRequest(): InferRequest {
  return {
    model: 'identity',
    version: undefined,
    outputs: ['i64_out', 'text_out', 'half_out'],
    inputs: {
      i64: { datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([-5n, 9007199254740993n]) },
      flag: { datatype: 'BOOL', shape: [1], data: new Uint8Array([1]) },
      text: { datatype: 'BYTES', shape: [1], data: ['héllo'] },
      half: { datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) },
    },
  };
}

describe('engine: inline execution (models on the main thread)', () => {
  const dir = tempDir('engine-inline');
  const identity = identityModel(dir.path);
  after(() => dir.remove());

  async function answersWith(
    mode: 'always' | 'never',
    batching: boolean,
  ): Promise<{ engine: ScoringEngine; answers: InferResponse[]; types: InferResponse }> {
    const engine = await createEngine(
      options([linearModel(dir.path), mlpModel(dir.path), identity], {
        workers: 1,
        batching: { enabled: batching, maxBatchSize: 16, maxQueueDelayMs: 5 },
        ...inline(mode),
      }),
    );
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, index) => engine.infer(mlpRequest(index))),
    );
    const types = await engine.infer(typesRequest());
    return { engine, answers, types };
  }

  for (const batching of [false, true]) {
    it(`gives the same answers inline as on workers (batching ${batching ? 'on' : 'off'})`, async () => {
      const onMain = await answersWith('always', batching);
      const onWorkers = await answersWith('never', batching);
      try {
        assert.equal(onMain.engine.placement('mlp'), 'inline');
        assert.equal(onWorkers.engine.placement('mlp'), 'workers');
        onMain.answers.forEach((answer, index) => {
          const expected = values(onWorkers.answers[index]?.outputs.probabilities);
          const got = values(answer.outputs.probabilities);
          assert.equal(got.length, expected.length);
          got.forEach((value, i) => assert.ok(Math.abs(value - (expected[i] ?? NaN)) <= 1e-6));
          assert.deepEqual(
            answer.outputs.probabilities?.shape,
            onWorkers.answers[index]?.outputs.probabilities?.shape,
          );
        });
        assert.deepEqual(onMain.types.outputs, onWorkers.types.outputs);
        assert.deepEqual(Object.keys(onMain.types.outputs).sort(), ['half_out', 'i64_out', 'text_out']);
        const [mainStats] = onMain.engine.statistics('mlp');
        assert.equal(mainStats?.success.count, 40);
        assert.equal(mainStats?.inferenceCount, 40);
      } finally {
        await onMain.engine.close();
        await onWorkers.engine.close();
      }
    });
  }

  it("places by the warm-up time in 'auto', and keeps models on workers when a scoring script is deployed", async () => {
    const cheap = await createEngine(options([linearModel(dir.path)], inline('auto', 1_000)));
    const costly = await createEngine(options([linearModel(dir.path)], inline('auto', 0)));
    const script = writeScript(
      dir.path,
      'score.mjs',
      'export function init() {}\nexport function run(input) { return input; }\n',
    );
    const scripted = await createEngine(
      options([linearModel(dir.path)], { scoringScript: script, ...inline('auto', 1_000) }),
    );
    try {
      assert.equal(cheap.placement('linear'), 'inline');
      assert.equal(costly.placement('linear'), 'workers');
      assert.equal(scripted.placement('linear'), 'workers');
      for (const engine of [cheap, costly, scripted]) {
        const answer = await engine.infer({
          model: 'linear',
          version: undefined,
          outputs: undefined,
          inputs: { x: fp32([1, 3], [1, 2, 3]) },
        });
        assert.deepEqual(values(answer.outputs.y), [0.5 - 2 + 6 + 0.25]);
      }
    } finally {
      await Promise.all([cheap.close(), costly.close(), scripted.close()]);
    }
  });

  it('answers an aborted request with its reason and never runs it', async () => {
    const engine = await createEngine(
      options([mlpModel(dir.path)], {
        batching: { enabled: true, maxBatchSize: 16, maxQueueDelayMs: 5 },
        ...inline('always'),
      }),
    );
    try {
      const controller = new AbortController();
      const first = engine.infer(mlpRequest(1));
      const second = engine.infer({ ...mlpRequest(2), signal: controller.signal });
      controller.abort(new Error('client went away'));
      await assert.rejects(second, /client went away/);
      await first;
      const [stats] = engine.statistics('mlp');
      assert.equal(stats?.inferenceCount, 1);
      assert.equal(stats?.fail.count, 1);
      await assert.rejects(
        engine.infer({ ...mlpRequest(3), signal: AbortSignal.abort(new Error('too late')) }),
        /too late/,
      );
    } finally {
      await engine.close();
    }
  });

  it('loads, serves and unloads versions inline, and finishes in-flight runs before closing', async () => {
    const engine = await createEngine(options([linearModel(dir.path)], inline('always')));
    const zeros = { x: fp32([1, 3], [0, 0, 0]) };
    await engine.load(linearModel(dir.path, '2'));
    assert.equal(engine.placement('linear', '2'), 'inline');
    const latest = await engine.infer({
      model: 'linear',
      version: undefined,
      outputs: undefined,
      inputs: zeros,
    });
    assert.equal(latest.version, '2');
    await engine.unload('linear', '2');
    await assert.rejects(engine.infer({ model: 'linear', version: '2', outputs: undefined, inputs: zeros }), {
      code: 'NOT_FOUND',
    });
    const running = Array.from({ length: 20 }, () =>
      engine.infer({
        model: 'linear',
        version: undefined,
        outputs: undefined,
        inputs: { x: fp32([1, 3], [1, 1, 1]) },
      }),
    );
    const closed = engine.close();
    const answers = await Promise.all(running);
    await closed;
    assert.equal(answers.length, 20);
    await assert.rejects(
      engine.infer({ model: 'linear', version: undefined, outputs: undefined, inputs: zeros }),
      { code: 'SHUTTING_DOWN' },
    );
  });
});
