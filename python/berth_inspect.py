"""Reads what it can of a scikit-learn or PyTorch model, for `berth model register` and `model show`.

usage: berth_inspect.py FRAMEWORK PATH   (FRAMEWORK: sklearn or pytorch; PATH: a file or folder)
Prints one JSON object: what was read, or {"error": message} with exit code 1 when the model
cannot be loaded.
"""
import json
import os
import sys

MODEL_SUFFIXES = {
    "sklearn": (".pkl", ".pickle", ".joblib", ".sav"),
    "pytorch": (".pt", ".pth", ".torchscript"),
}


def model_file(framework, path):
    if os.path.isfile(path):
        return path
    found = sorted(
        os.path.join(folder, name)
        for folder, _, names in os.walk(path)
        for name in names
        if name.lower().endswith(MODEL_SUFFIXES[framework])
    )
    if not found:
        raise ValueError(f"no {'/'.join(MODEL_SUFFIXES[framework])} file in {path}")
    return found[0]


def qualified(value):
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def sklearn_info(path):
    import joblib

    file = model_file("sklearn", path)
    model = joblib.load(file)
    if not hasattr(model, "predict") and not hasattr(model, "transform"):
        raise ValueError(f"{os.path.basename(file)} holds a {qualified(model)}, not a scikit-learn estimator")
    info = {"kind": "estimator", "file": os.path.relpath(file, path) if os.path.isdir(path) else os.path.basename(file), "estimator": qualified(model)}
    if hasattr(model, "steps"):
        info["steps"] = [f"{name}: {qualified(step)}" for name, step in model.steps]
    if hasattr(model, "n_features_in_"):
        info["features"] = int(model.n_features_in_)
    if hasattr(model, "feature_names_in_"):
        info["featureNames"] = [str(name) for name in model.feature_names_in_]
    if hasattr(model, "classes_"):
        info["classes"] = [c.item() if hasattr(c, "item") else c for c in list(model.classes_)[:20]]
    return info


def pytorch_info(path):
    import torch

    file = model_file("pytorch", path)
    name = os.path.relpath(file, path) if os.path.isdir(path) else os.path.basename(file)
    try:
        module = torch.jit.load(file, map_location="cpu")
    except RuntimeError:
        module = None
    if module is not None:
        arguments = module.forward.schema.arguments[1:]
        return {
            "kind": "torchscript",
            "file": name,
            "module": module.original_name,
            "inputs": [{"name": a.name, "type": str(a.type)} for a in arguments],
            "outputs": [str(r.type) for r in module.forward.schema.returns],
        }
    loaded = torch.load(file, map_location="cpu")
    if isinstance(loaded, dict):
        tensors = {k: v for k, v in loaded.items() if hasattr(v, "shape")}
        scripts = []
        if os.path.isdir(path):
            scripts = sorted(os.path.relpath(os.path.join(f, n), path) for f, _, ns in os.walk(path) for n in ns if n.endswith(".py"))
        return {
            "kind": "state_dict",
            "file": name,
            "tensors": len(tensors),
            "parameters": int(sum(v.numel() for v in tensors.values())),
            "scripts": scripts,
        }
    return {"kind": "module", "file": name, "module": qualified(loaded)}


def main():
    framework, path = sys.argv[1], sys.argv[2]
    try:
        info = sklearn_info(path) if framework == "sklearn" else pytorch_info(path)
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
