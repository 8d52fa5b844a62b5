# The benchmark's scoring script: the same work as handwritten_server.py, served by berth.
import json
import os

import joblib
import numpy as np


def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pkl"))


def run(raw_data):
    return model.predict_proba(np.array(json.loads(raw_data)["data"])).tolist()


def run_batch(bodies):
    # With batching on, the bodies that gathered arrive together: one predict_proba for all rows.
    rows = [json.loads(body)["data"] for body in bodies]
    proba = model.predict_proba(np.array([row for request in rows for row in request])).tolist()
    answers, at = [], 0
    for request in rows:
        answers.append(proba[at : at + len(request)])
        at += len(request)
    return answers
