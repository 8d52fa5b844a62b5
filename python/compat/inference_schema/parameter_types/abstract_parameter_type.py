class AbstractParameterType:
    """A parameter's sample: converts the JSON value into the sample's type and describes it as JSON Schema."""

    def __init__(self, sample_input):
        self.sample_input = sample_input

    def deserialize_input(self, input_data):
        return input_data

    def input_to_swagger(self):
        return describe(self.sample_input)


def describe(value):
    """JSON Schema of a plain Python sample, with the sample as its example."""
    if isinstance(value, AbstractParameterType):
        return value.input_to_swagger()
    if isinstance(value, bool):
        return {"type": "boolean", "example": value}
    if isinstance(value, int):
        return {"type": "integer", "format": "int64", "example": value}
    if isinstance(value, float):
        return {"type": "number", "format": "double", "example": value}
    if isinstance(value, str):
        return {"type": "string", "example": value}
    if isinstance(value, dict):
        return {"type": "object", "required": list(value), "properties": {str(k): describe(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"type": "array", "items": describe(value[0]) if value else {}, "example": [example(v) for v in value]}
    if hasattr(value, "tolist"):
        return describe(value.tolist())
    return {"type": "object"}


def example(value):
    if isinstance(value, AbstractParameterType):
        return value.input_to_swagger().get("example")
    if isinstance(value, dict):
        return {k: example(v) for k, v in value.items()}
    return value
