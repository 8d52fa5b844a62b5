"""berth's Python scoring worker: one process, one scoring script, one request at a time.

Protocol (both directions): frames of a 4-byte big-endian length and that many bytes of UTF-8
JSON. Requests arrive on stdin; answers and log records leave on the file descriptor that was
stdout when the process started. fd 1 itself is pointed at stderr, so that print() from the
script, and anything a native library writes, can never corrupt a frame.

berth -> worker: {"type": "run", "id": n, "requestId": str|null, "body": str}
                 {"type": "raw", "id": n, "requestId": ..., "body": base64, "headers": {}, "method": str, "path": str}
                 {"type": "batch", "id": n, "miniBatch": [...] | {"columns": [...], "rows": [[...]]}}
                 {"type": "shutdown"}
worker -> berth: {"type": "ready", "schemas": {...}}  |  {"type": "init-failed", "message": str}
                 {"type": "result", "id": n, "status": int, "contentType": str, "body": str, "encoding": "utf8"|"base64", "execNs": int}
                 {"type": "error", "id": n, "code": str, "message": str}
                 {"type": "log", "level": str, "message": str, "requestId": str|null}
"""
import base64
import importlib.util
import io
import json
import logging
import os
import struct
import sys
import threading
import time
import traceback

_current_request = None
_out = None
_out_lock = threading.Lock()


def send(message):
    data = json.dumps(message, default=str).encode("utf-8")
    with _out_lock:
        _out.write(struct.pack(">I", len(data)))
        _out.write(data)
        _out.flush()


def read_frame(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    data = stream.read(length)
    if len(data) < length:
        return None
    return json.loads(data.decode("utf-8"))


class LogStream(io.TextIOBase):
    """print() target: each line becomes one log record tagged with the running request's id."""

    def __init__(self, level):
        self.level = level
        self.buffer_text = ""

    def writable(self):
        return True

    def write(self, text):
        self.buffer_text += text
        while "\n" in self.buffer_text:
            line, self.buffer_text = self.buffer_text.split("\n", 1)
            send({"type": "log", "level": self.level, "message": line, "requestId": _current_request})
        return len(text)

    def flush(self):
        if self.buffer_text:
            line, self.buffer_text = self.buffer_text, ""
            send({"type": "log", "level": self.level, "message": line, "requestId": _current_request})


class LogHandler(logging.Handler):
    def emit(self, record):
        try:
            level = "error" if record.levelno >= logging.ERROR else "warn" if record.levelno >= logging.WARNING else "info"
            send({"type": "log", "level": level, "message": self.format(record), "requestId": _current_request})
        except Exception:  # a log line must never fail a request
            pass


def json_default(value):
    """numpy arrays and scalars, pandas frames and series: what scoring scripts commonly return."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "to_dict"):
        try:
            return value.to_dict(orient="records")
        except TypeError:
            return value.to_dict()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def load_script(path):
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("score", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise RuntimeError(f"{path} defines no run() function")
    return module


def script_schemas(run):
    schemas = getattr(run, "__berth_schemas__", None)
    raw = bool(getattr(run, "__berth_rawhttp__", False))
    if schemas is None:
        return {"raw": raw, "input": None, "output": None, "decorated": False}
    return {"raw": raw, "input": schemas.input_document(), "output": schemas.output_document(), "decorated": True}


def answer(request_id, result, exec_ns):
    from azureml.contrib.services.aml_response import AMLResponse

    status, content_type, headers = 200, "application/json", {}
    if isinstance(result, AMLResponse):
        status, headers = result.status_code, dict(result.headers)
        content_type = headers.pop("Content-Type", None) or result.content_type
        result = result.get_data()
        if isinstance(result, (bytes, bytearray)):
            body = base64.b64encode(bytes(result)).decode("ascii")
            return {"type": "result", "id": request_id, "status": status, "contentType": content_type, "body": body, "encoding": "base64", "execNs": exec_ns}
        return {"type": "result", "id": request_id, "status": status, "contentType": content_type, "body": str(result), "encoding": "utf8", "execNs": exec_ns}
    if isinstance(result, (bytes, bytearray)):
        body = base64.b64encode(bytes(result)).decode("ascii")
        return {"type": "result", "id": request_id, "status": 200, "contentType": "application/octet-stream", "body": body, "encoding": "base64", "execNs": exec_ns}
    text = json.dumps(result, default=json_default)
    return {"type": "result", "id": request_id, "status": status, "contentType": content_type, "body": text, "encoding": "utf8", "execNs": exec_ns}


def call(module, message, decorated):
    kind = message["type"]
    if kind == "raw":
        from azureml.contrib.services.aml_request import AMLRequest

        request = AMLRequest(base64.b64decode(message["body"]), message["headers"], message["method"], message["path"])
        return module.run(request)
    if kind == "batch":
        return module.run(mini_batch(message["miniBatch"]))
    if decorated:
        try:
            arguments = json.loads(message["body"])
        except ValueError as error:
            raise BadInput(f"the request body is not JSON: {error}")
        if not isinstance(arguments, dict):
            raise BadInput("the request body must be a JSON object whose keys name run()'s parameters")
        return module.run(**arguments)
    return module.run(message["body"])


def mini_batch(value):
    if isinstance(value, dict) and "columns" in value:
        import pandas

        return pandas.DataFrame(value["rows"], columns=value["columns"])
    return value


class BadInput(Exception):
    pass


def serve(module, stdin):
    global _current_request
    decorated = script_schemas(module.run)["decorated"]
    while True:
        message = read_frame(stdin)
        if message is None or message["type"] == "shutdown":
            return
        _current_request = message.get("requestId")
        started = time.perf_counter_ns()
        try:
            result = call(module, message, decorated)
            reply = answer(message["id"], result, time.perf_counter_ns() - started)
        except BadInput as error:
            reply = {"type": "error", "id": message["id"], "code": "BAD_INPUT", "message": str(error)}
        except Exception as error:  # the script's failure is the request's answer, not the worker's end
            logging.getLogger("berth").error("run() failed:\n%s", traceback.format_exc().rstrip())
            reply = {"type": "error", "id": message["id"], "code": "RUN_FAILED", "message": f"{type(error).__name__}: {error}"}
        sys.stdout.flush()
        _current_request = None
        send(reply)


def main():
    global _out
    _out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    stdin = os.fdopen(0, "rb", buffering=0)
    stdin = io.BufferedReader(stdin)
    sys.stdout = LogStream("info")
    sys.stderr = LogStream("warn")
    handler = LogHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    script = os.environ["BERTH_SCORING_SCRIPT"]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "compat"))
    try:
        import berth_compat

        berth_compat.install()
        module = load_script(script)
        if callable(getattr(module, "init", None)):
            module.init()
        schemas = script_schemas(module.run)
    except BaseException as error:  # SystemExit too: init must never leave berth waiting
        detail = traceback.format_exc().rstrip()
        logging.getLogger("berth").error("init failed:\n%s", detail)
        send({"type": "init-failed", "message": describe_failure(error)})
        return
    sys.stdout.flush()
    send({"type": "ready", "schemas": schemas, "python": sys.version.split()[0]})
    serve(module, stdin)


def describe_failure(error):
    return f"{type(error).__name__}: {error}"


if __name__ == "__main__":
    main()
