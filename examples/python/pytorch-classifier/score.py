# An Azure ML scoring script for a TorchScript image classifier. The request is
# {"images": [[[[...]]]]} (N x 3 x H x W floats); the answer a class and probabilities per image.
# It runs on CUDA when the machine has it.
import json
import os

import torch

labels = ["cat", "dog", "bird", "fish"]


def init():
    global model, device
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = torch.jit.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.pt"), map_location=device)
    model.eval()
    print(f"classifier ready on {device}")


def run(raw_data):
    images = torch.tensor(json.loads(raw_data)["images"], dtype=torch.float32, device=device)
    with torch.no_grad():
        probabilities = torch.softmax(model(images), dim=1).cpu()
    return [
        {"label": labels[int(row.argmax())], "probabilities": row.tolist()}
        for row in probabilities
    ]
