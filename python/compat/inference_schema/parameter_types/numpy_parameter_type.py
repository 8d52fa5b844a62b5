import numpy

from inference_schema.parameter_types.abstract_parameter_type import AbstractParameterType


class NumpyParameterType(AbstractParameterType):
    """A numpy array sample: the JSON list becomes an array of the sample's dtype (and, when enforced, its inner shape)."""

    def __init__(self, sample_input, enforce_column_type=True, enforce_shape=True):
        if not isinstance(sample_input, numpy.ndarray):
            raise ValueError("NumpyParameterType needs a numpy.ndarray sample")
        super().__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape

    def deserialize_input(self, input_data):
        dtype = self.sample_input.dtype if self.enforce_column_type else None
        array = numpy.array(input_data, dtype=dtype)
        if self.enforce_shape and array.shape[1:] != self.sample_input.shape[1:]:
            raise ValueError(
                f"input shape {list(array.shape)} does not match the expected shape "
                f"{['*'] + list(self.sample_input.shape[1:])}"
            )
        return array

    def input_to_swagger(self):
        kind = self.sample_input.dtype.kind
        if kind == "f":
            item = {"type": "number", "format": "float" if self.sample_input.dtype.itemsize == 4 else "double"}
        elif kind in "iu":
            item = {"type": "integer", "format": "int64" if self.sample_input.dtype.itemsize == 8 else "int32"}
        elif kind == "b":
            item = {"type": "boolean"}
        else:
            item = {"type": "string"}
        for _ in range(self.sample_input.ndim):
            item = {"type": "array", "items": item}
        item["example"] = self.sample_input.tolist()
        return item
