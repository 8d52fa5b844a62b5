"""`AMLRequest` and `@rawhttp`: run(request) receives the HTTP request as it came."""
import json
from urllib.parse import parse_qs, urlsplit


class _Headers(dict):
    """Case-insensitive lookups, as werkzeug's headers allow."""

    def __init__(self, headers):
        super().__init__({k.lower(): v for k, v in headers.items()})

    def __getitem__(self, key):
        return super().__getitem__(key.lower())

    def get(self, key, default=None):
        return super().get(key.lower(), default)

    def __contains__(self, key):
        return super().__contains__(str(key).lower())


class AMLRequest:
    def __init__(self, body, headers, method, full_path):
        self._body = body
        self.headers = _Headers(headers)
        self.method = method
        parts = urlsplit(full_path)
        self.path = parts.path
        self.full_path = full_path
        self.query_string = parts.query.encode("utf-8")
        self.args = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.content_type = self.headers.get("content-type")
        self.mimetype = (self.content_type or "").split(";")[0].strip()

    @property
    def data(self):
        return self._body

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        return self._body.decode("utf-8") if as_text else self._body

    @property
    def is_json(self):
        return self.mimetype == "application/json" or self.mimetype.endswith("+json")

    def get_json(self, force=False, silent=False, cache=True):
        if not (force or self.is_json):
            return None
        try:
            return json.loads(self._body.decode("utf-8"))
        except ValueError:
            if silent:
                return None
            raise

    @property
    def json(self):
        return self.get_json(silent=True)


def rawhttp(func):
    func.__berth_rawhttp__ = True
    return func
