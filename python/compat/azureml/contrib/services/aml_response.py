"""`AMLResponse`: a run() decorated with @rawhttp may answer with a status, headers and a body."""
import json


class AMLResponse:
    def __init__(self, message=None, status_code=200, json_str=False, headers=None, content_type=None):
        if json_str:
            message = json.dumps(message)
        self.status_code = int(status_code)
        self.headers = dict(headers or {})
        if content_type is None:
            content_type = (
                "application/json"
                if json_str
                else "application/octet-stream"
                if isinstance(message, (bytes, bytearray))
                else "text/plain; charset=utf-8"
            )
        self.content_type = content_type
        self._data = b"" if message is None else message

    @property
    def status(self):
        return str(self.status_code)

    def get_data(self, as_text=False):
        if as_text and isinstance(self._data, (bytes, bytearray)):
            return self._data.decode("utf-8")
        return self._data

    def set_data(self, value):
        self._data = value
