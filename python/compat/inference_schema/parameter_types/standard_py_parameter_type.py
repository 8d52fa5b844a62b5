from inference_schema.parameter_types.abstract_parameter_type import AbstractParameterType


class StandardPythonParameterType(AbstractParameterType):
    """A plain sample (number, string, list, dict); a dict may hold other parameter types, converted in turn."""

    def deserialize_input(self, input_data):
        sample = self.sample_input
        if isinstance(sample, dict) and isinstance(input_data, dict):
            return {
                key: sample[key].deserialize_input(value) if isinstance(sample.get(key), AbstractParameterType) else value
                for key, value in input_data.items()
            }
        if isinstance(sample, list) and sample and isinstance(sample[0], AbstractParameterType) and isinstance(input_data, list):
            return [sample[0].deserialize_input(item) for item in input_data]
        return input_data
