# An Azure ML scoring script for the pickled LinearRegression that src/train.py writes: the request
# is {"data": [[x0, x1, x2], ...]}, the answer one prediction per row.
import json
import os
import pickle


def init():
    global model
    with open(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl"), "rb") as handle:
        model = pickle.load(handle)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return model.predict(rows).tolist()
