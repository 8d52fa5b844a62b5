# An Azure ML scoring script that takes the raw HTTP request: POST a CSV body (one row of features
# per line), get the predicted classes as JSON; GET answers with a usage line.

import joblib
import numpy as np
from azureml.contrib.services.aml_request import rawhttp
from azureml.contrib.services.aml_response import AMLResponse
from azureml.core.model import Model


def init():
    global model
    # A model registered as one file: get_model_path answers that file.
    model = joblib.load(Model.get_model_path("iris"))


@rawhttp
def run(request):
    if request.method == "GET":
        return AMLResponse("POST text/csv rows of four numbers", 200)
    if request.method != "POST":
        return AMLResponse(f"method {request.method} is not allowed", 405)
    if request.headers.get("Content-Type", "").split(";")[0] != "text/csv":
        return AMLResponse("send text/csv", 415)
    text = request.get_data(as_text=True)
    rows = [[float(cell) for cell in line.split(",")] for line in text.strip().splitlines()]
    predicted = model.predict(np.array(rows))
    return AMLResponse({"predictions": predicted.tolist()}, 200, json_str=True)
