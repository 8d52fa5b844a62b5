from azureml.core.model import Model

__all__ = ["Model"]
