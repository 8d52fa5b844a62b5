"""Fits a linear regression with scikit-learn, logs its metrics to the berth job, writes the model
as ONNX (model.onnx, served as it is) and as a pickle (model.pkl, served by ../score/score.py).

    python train.py --data DIR --model DIR [--epochs N]

Each "epoch" fits on a growing share of the rows, so the metrics make a curve to look at.
"""
import argparse
import csv
import os
import pickle

import berth_run  # put on PYTHONPATH by the berth job runner
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error

from onnx_linear import linear_onnx

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()

with open(os.path.join(args.data, "train.csv"), newline="") as handle:
    rows = [[float(v) for v in row] for row in list(csv.reader(handle))[1:]]
data = np.array(rows)
features, target = data[:, :-1], data[:, -1]

model = LinearRegression()
for epoch in range(args.epochs):
    count = max(4, len(rows) * (epoch + 1) // args.epochs)
    model.fit(features[:count], target[:count])
    mse = mean_squared_error(target, model.predict(features))
    berth_run.log_metric("mse", mse, step=epoch)
    berth_run.log_metric("r2", model.score(features, target), step=epoch)
    print("epoch %d: fitted on %d rows, mse %.6f" % (epoch, count, mse))

os.makedirs(args.model, exist_ok=True)
with open(os.path.join(args.model, "model.onnx"), "wb") as handle:
    handle.write(linear_onnx(model.coef_.tolist(), float(model.intercept_)))
with open(os.path.join(args.model, "model.pkl"), "wb") as handle:
    pickle.dump(model, handle)
print("coefficients", [round(c, 4) for c in model.coef_], "intercept", round(float(model.intercept_), 4))
