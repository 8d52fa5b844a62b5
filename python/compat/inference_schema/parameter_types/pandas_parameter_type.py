import json

import pandas

from inference_schema.parameter_types.abstract_parameter_type import AbstractParameterType, describe


class PandasParameterType(AbstractParameterType):
    """A DataFrame sample: the JSON value (in `orient` form) becomes a DataFrame with the sample's columns and dtypes."""

    def __init__(self, sample_input, enforce_column_type=True, enforce_shape=True, apply_column_names=False, orient="records"):
        if not isinstance(sample_input, pandas.DataFrame):
            raise ValueError("PandasParameterType needs a pandas.DataFrame sample")
        super().__init__(sample_input)
        self.enforce_column_type = enforce_column_type
        self.enforce_shape = enforce_shape
        self.apply_column_names = apply_column_names
        self.orient = orient

    def deserialize_input(self, input_data):
        if self.orient == "records":
            frame = pandas.DataFrame.from_records(input_data)
        else:
            from io import StringIO

            frame = pandas.read_json(StringIO(json.dumps(input_data)), orient=self.orient)
        columns = list(self.sample_input.columns)
        if self.apply_column_names and len(frame.columns) == len(columns):
            frame.columns = columns
        if self.enforce_shape:
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(f"input is missing columns {missing}")
            frame = frame[columns]
        if self.enforce_column_type:
            frame = frame.astype(self.sample_input.dtypes.to_dict())
        return frame

    def input_to_swagger(self):
        records = json.loads(self.sample_input.to_json(orient="records"))
        schema = describe(records)
        if self.orient != "records":
            schema = {"type": "object", "example": json.loads(self.sample_input.to_json(orient=self.orient))}
        return schema
