# The in-process cost of one request's work (parse, predict_proba, serialise), for the overhead figure.
# usage: in_process.py MODEL_PKL BODY_JSON ITERATIONS -> prints {"medianUs": ..., "meanUs": ...}
import json
import statistics
import sys
import time

import joblib
import numpy as np

model = joblib.load(sys.argv[1])
body = sys.argv[2]
samples = []
for _ in range(int(sys.argv[3])):
    started = time.perf_counter_ns()
    json.dumps(model.predict_proba(np.array(json.loads(body)["data"])).tolist())
    samples.append((time.perf_counter_ns() - started) / 1000)
print(json.dumps({"medianUs": statistics.median(samples), "meanUs": statistics.mean(samples)}))
