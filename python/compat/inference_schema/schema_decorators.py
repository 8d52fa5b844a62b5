"""`@input_schema` and `@output_schema`.

With them, berth (like Azure) parses the request body as a JSON object and calls
`run(**body)`; each decorated parameter is converted to its sample's type first. The samples
describe the request and response in the swagger document.
"""
import functools
import inspect


class _Schemas:
    def __init__(self):
        self.inputs = {}
        self.output = None

    def input_document(self):
        return {
            "type": "object",
            "required": list(self.inputs),
            "properties": {name: kind.input_to_swagger() for name, kind in self.inputs.items()},
        }

    def output_document(self):
        return None if self.output is None else self.output.input_to_swagger()


def _decorate(func, update):
    schemas = getattr(func, "__berth_schemas__", None) or _Schemas()
    original = inspect.unwrap(func)
    parameters = list(inspect.signature(original).parameters)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        args = list(args)
        for name, kind in schemas.inputs.items():
            if name in kwargs:
                kwargs[name] = kind.deserialize_input(kwargs[name])
            elif name in parameters and parameters.index(name) < len(args):
                index = parameters.index(name)
                args[index] = kind.deserialize_input(args[index])
        return original(*args, **kwargs)

    update(schemas)
    wrapper.__berth_schemas__ = schemas
    if getattr(func, "__berth_rawhttp__", False):
        wrapper.__berth_rawhttp__ = True
    return wrapper


def input_schema(param_name, param_type, convert_to_provided_type=True, optional=False):
    def decorator(func):
        def update(schemas):
            if convert_to_provided_type:
                schemas.inputs[param_name] = param_type
            else:
                schemas.inputs[param_name] = _Described(param_type)

        return _decorate(func, update)

    return decorator


def output_schema(output_type):
    def decorator(func):
        def update(schemas):
            schemas.output = output_type

        return _decorate(func, update)

    return decorator


class _Described:
    """A parameter described in the swagger document but passed to run() as JSON gave it."""

    def __init__(self, kind):
        self.kind = kind

    def deserialize_input(self, value):
        return value

    def input_to_swagger(self):
        return self.kind.input_to_swagger()
