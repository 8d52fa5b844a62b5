"""`Model.get_model_path` as a deployed Azure scoring script sees it.

berth sets BERTH_MODELS to a JSON list of {name, version, dir}, `dir` laid out as Azure lays out
AZUREML_MODEL_DIR: the registered file, or the registered folder by its own name, inside it.
"""
import json
import os


class ModelNotFoundException(Exception):
    pass


def _served():
    return json.loads(os.environ.get("BERTH_MODELS", "[]"))


class Model:
    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        served = _served()
        found = [m for m in served if m["name"] == model_name and (version is None or str(version) == m["version"])]
        if not found:
            names = ", ".join(f"{m['name']}:{m['version']}" for m in served) or "none"
            wanted = model_name if version is None else f"{model_name}:{version}"
            raise ModelNotFoundException(f"model {wanted} is not deployed with this script (deployed: {names})")
        model = max(found, key=lambda m: int(m["version"]) if m["version"].isdigit() else 0)
        entries = [e for e in os.listdir(model["dir"]) if not e.startswith(".")]
        return os.path.join(model["dir"], entries[0]) if len(entries) == 1 else model["dir"]
