// Fits y = x . W + b by gradient descent on train.csv, logs the loss, the weights (a table) and
// writes the model as ONNX and JSON. TypeScript, run as `node train.ts` on any target with Node 20:
// berth compiles it when the job is created. `berth-run` is written beside the code by every runner.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { run, type JobRun } from 'berth-run';
import { linearOnnx } from './onnx-linear.js';

/** A fitted line: one weight per feature, and the intercept. */
interface LinearModel {
  weights: number[];
  bias: number;
}

/** One row of the weights table. */
interface WeightRow {
  parameter: string;
  value: number;
}

const { values: args } = parseArgs({
  options: { data: { type: 'string' }, epochs: { type: 'string', default: '10' }, model: { type: 'string' } },
});
if (args.data === undefined || args.model === undefined)
  throw new Error('usage: train.ts --data DIR --model DIR');

const [header = '', ...lines] = readFileSync(join(args.data, 'train.csv'), 'utf8').trim().split('\n');
const rows: number[][] = lines.map((line) => line.split(',').map(Number));
const features = header.split(',').length - 1;

function predict(model: LinearModel, row: readonly number[]): number {
  return row.slice(0, features).reduce((sum, x, i) => sum + (model.weights[i] ?? 0) * x, model.bias);
}

/** 25 full passes of gradient descent; the mean squared error of the last one. */
function epoch(model: LinearModel, rate: number): number {
  let loss = 0;
  for (let pass = 0; pass < 25; pass += 1) {
    const gradient: number[] = new Array<number>(features).fill(0);
    let gradientBias = 0;
    loss = 0;
    for (const row of rows) {
      const error = predict(model, row) - (row[features] ?? 0);
      loss += error * error;
      row.slice(0, features).forEach((x, i) => (gradient[i] = (gradient[i] ?? 0) + error * x));
      gradientBias += error;
    }
    model.weights = model.weights.map((w, i) => w - (rate * (gradient[i] ?? 0)) / rows.length);
    model.bias -= (rate * gradientBias) / rows.length;
  }
  return loss / rows.length;
}

function train(history: JobRun, epochs: number): LinearModel {
  const model: LinearModel = { weights: new Array<number>(features).fill(0), bias: 0 };
  for (let index = 0; index < epochs; index += 1) {
    const mse = epoch(model, 0.02);
    history.log('mse', mse, index);
    console.log(`epoch ${index}: mse ${mse.toFixed(6)} on ${rows.length} rows`);
  }
  return model;
}

const model = train(run, Number(args.epochs));
const table: WeightRow[] = [
  ...model.weights.map((weight, i) => ({ parameter: `x${i}`, value: weight })),
  { parameter: 'bias', value: model.bias },
];
run.logTable('weights', table);
writeFileSync(join(args.model, 'model.onnx'), linearOnnx(model.weights, model.bias));
writeFileSync(join(args.model, 'model.json'), `${JSON.stringify(model)}\n`);
