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
