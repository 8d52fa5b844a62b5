# An Azure ML scoring script for a scikit-learn classifier, with inference_schema decorators:
# the request is {"data": [[f1, f2, f3, f4], ...]}, the answer the class probabilities per row.
import logging
import os

import joblib
import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    global model
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl")
    model = joblib.load(model_path)
    logging.info("loaded %s from %s", type(model).__name__, model_path)


@input_schema("data", NumpyParameterType(np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float64)))
@output_schema(NumpyParameterType(np.array([[0.9, 0.05, 0.05]])))
def run(data):
    logging.info("scoring %d rows", data.shape[0])
    return model.predict_proba(data)
