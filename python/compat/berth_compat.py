"""Installs the import rule of berth's Azure compatibility package.

The modules below are what berth provides (see python/README.md for each API). Importing any other
module under `azureml` or `inference_schema` fails at once with an ImportError that names it, so a
script that needs more than berth covers fails at init, not at its first request.
"""
import importlib.abc
import sys

COVERED = {
    "azureml",
    "azureml.core",
    "azureml.core.model",
    "azureml.contrib",
    "azureml.contrib.services",
    "azureml.contrib.services.aml_request",
    "azureml.contrib.services.aml_response",
    "inference_schema",
    "inference_schema.schema_decorators",
    "inference_schema.parameter_types",
    "inference_schema.parameter_types.abstract_parameter_type",
    "inference_schema.parameter_types.numpy_parameter_type",
    "inference_schema.parameter_types.pandas_parameter_type",
    "inference_schema.parameter_types.standard_py_parameter_type",
}


class _Uncovered(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        root = fullname.split(".", 1)[0]
        if root in ("azureml", "inference_schema") and fullname not in COVERED:
            raise ImportError(
                f"berth's Azure compatibility package does not provide '{fullname}' "
                f"(it covers: {', '.join(sorted(COVERED))})",
                name=fullname,
            )
        return None


def install():
    if not any(isinstance(finder, _Uncovered) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Uncovered())
