"""berth's Python scoring worker: one process, one scoring script, one request at a time.

Protocol (both directions): frames of a 4-byte big-endian length and that many bytes: a 1-byte
kind, then its fields (big-endian integers; a string is its UTF-8 bytes after its length).
Request bodies and answers are carried as their bytes, with no envelope to encode or decode.
Requests arrive on stdin; answers and log records leave on the file descriptor that was stdout
when the process started. fd 1 itself is pointed at stderr, so that print() from the script, and
anything a native library writes, can never corrupt a frame. src/scoring/runtimes/python/frames.ts
is the other end.

berth -> worker (after the kind, a u32 call id; a requestId of length 0 is none):
  1 RUN       u16 requestId | body                                  -> run(body as str)
  2 RAW       u16 requestId | u32 JSON {headers, method, path} | body  -> run(AMLRequest)   (@rawhttp)
  3 BATCH     u16 requestId | JSON mini-batch (a list, or {"columns", "rows"})  -> run(mini_batch)
  4 RUNS      u16 requestId | u8 mode | u32 count | (u16 requestId | u32 body)*   mode 0: run_batch(bodies); 1: run() each
  5 SHUTDOWN  (no call id)
worker -> berth:
  16 RESULT   u32 id | u16 status | u8 binary | f64 execNs | u16 contentType | body
  17 RESULTS  u32 id | f64 execNs | u32 count | (u8 1 | u16 status | u8 binary | f64 execNs | u16 contentType | u32 body
                                               | u8 0 | u16 code | u32 message)*
  18 JSON     {"type": "ready", "python": str, "schemas": {...}, "batch": bool} | {"type": "init-failed", "message": str}
              {"type": "error", "id": n, "code": "BAD_INPUT"|"RUN_FAILED", "message": str}
              {"type": "log", "level": "info"|"warn"|"error", "message": str, "requestId": str|null}
"""
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


RUN, RAW, BATCH, RUNS, SHUTDOWN = 1, 2, 3, 4, 5
RESULT, RESULTS, JSON_FRAME = 16, 17, 18
_result_head = struct.Struct(">IBIHBdH")
_item_head = struct.Struct(">BHBdH")


def write_frame(frame):
    # One write (one system call) per frame: the descriptor is unbuffered.
    with _out_lock:
        view = memoryview(frame)
        while view:
            view = view[_out.write(view) :]


def send(message):
    """A control message (ready, init-failed, error, log) as a JSON frame."""
    data = json.dumps(message, default=str).encode("utf-8")
    write_frame(struct.pack(">IB", len(data) + 1, JSON_FRAME) + data)


def send_result(call_id, reply, exec_ns):
    status, binary, content_type, body = reply
    content_type = content_type.encode("utf-8")
    head = _result_head.pack(len(body) + len(content_type) + 18, RESULT, call_id, status, binary, exec_ns, len(content_type))
    write_frame(b"".join((head, content_type, body)))


def send_results(call_id, items, exec_ns):
    """items: (status, binary, content_type, body, item_ns) or (code, message) per body, in order."""
    parts = [b"", struct.pack(">BIdI", RESULTS, call_id, exec_ns, len(items))]
    for item in items:
        if len(item) == 2:
            code, message = (part.encode("utf-8") for part in item)
            parts.append(struct.pack(">BH", 0, len(code)) + code + struct.pack(">I", len(message)) + message)
            continue
        status, binary, content_type, body, item_ns = item
        content_type = content_type.encode("utf-8")
        parts.append(_item_head.pack(1, status, binary, item_ns, len(content_type)) + content_type + struct.pack(">I", len(body)))
        parts.append(body)
    parts[0] = struct.pack(">I", sum(len(part) for part in parts))
    write_frame(b"".join(parts))


def read_frame(stream):
    """The next message as (kind, call id, request id, payload); None when berth closed the pipe."""
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    data = stream.read(length)
    if len(data) < length:
        return None
    kind = data[0]
    if kind == SHUTDOWN:
        return (SHUTDOWN, 0, None, b"")
    call_id, id_length = struct.unpack_from(">IH", data, 1)
    request_id = data[7 : 7 + id_length].decode("utf-8") if id_length else None
    return (kind, call_id, request_id, memoryview(data)[7 + id_length :])


def split_bodies(payload):
    """A RUNS payload: (mode, [(request id, body bytes), ...])."""
    mode, count = struct.unpack_from(">BI", payload, 0)
    at, bodies = 5, []
    for _ in range(count):
        (id_length,) = struct.unpack_from(">H", payload, at)
        request_id = bytes(payload[at + 2 : at + 2 + id_length]).decode("utf-8") if id_length else None
        at += 2 + id_length
        (size,) = struct.unpack_from(">I", payload, at)
        bodies.append((request_id, bytes(payload[at + 4 : at + 4 + size])))
        at += 4 + size
    return mode, bodies


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


_AMLResponse = None
_encoder = None


def answer(result):
    """run()'s return value as (status, binary, content type, body bytes)."""
    if isinstance(result, _AMLResponse):
        headers = dict(result.headers)
        content_type = headers.pop("Content-Type", None) or result.content_type
        data = result.get_data()
        if isinstance(data, (bytes, bytearray)):
            return (result.status_code, 1, content_type, bytes(data))
        return (result.status_code, 0, content_type, str(data).encode("utf-8"))
    if isinstance(result, (bytes, bytearray)):
        return (200, 1, "application/octet-stream", bytes(result))
    return (200, 0, "application/json", _encoder.encode(result).encode("utf-8"))


def text(body):
    # run() gets the body as Azure gives it: a str (bytes that are not UTF-8 are replaced, as berth reads them).
    return str(body, "utf-8", "replace")


def call(module, kind, payload, decorated):
    if kind == RAW:
        from azureml.contrib.services.aml_request import AMLRequest

        (meta_length,) = struct.unpack_from(">I", payload, 0)
        meta = json.loads(bytes(payload[4 : 4 + meta_length]))
        request = AMLRequest(bytes(payload[4 + meta_length :]), meta["headers"], meta["method"], meta["path"])
        return module.run(request)
    if kind == BATCH:
        return module.run(mini_batch(json.loads(bytes(payload))))
    return run_one(module, text(payload), decorated)


def run_one(module, body, decorated):
    if decorated:
        try:
            arguments = json.loads(body)
        except ValueError as error:
            raise BadInput(f"the request body is not JSON: {error}")
        if not isinstance(arguments, dict):
            raise BadInput("the request body must be a JSON object whose keys name run()'s parameters")
        return module.run(**arguments)
    return module.run(body)


def mini_batch(value):
    if isinstance(value, dict) and "columns" in value:
        import pandas

        return pandas.DataFrame(value["rows"], columns=value["columns"])
    return value


class BadInput(Exception):
    pass


def run_batch(module, bodies, started):
    """run_batch(bodies) -> one answer per body, in order; an Exception in the list fails that request."""
    results = list(module.run_batch([text(body) for _, body in bodies]))
    if len(results) != len(bodies):
        raise RuntimeError(f"run_batch() returned {len(results)} answers for {len(bodies)} requests")
    out = []
    for result in results:
        if isinstance(result, BaseException):
            out.append(("RUN_FAILED", f"{type(result).__name__}: {result}"))
        else:
            out.append(answer(result) + (0,))
    elapsed = time.perf_counter_ns() - started
    # One execution for the whole call: each answer reports the call's time.
    return [item if len(item) == 2 else item[:4] + (elapsed,) for item in out]


def run_each(module, bodies, decorated):
    """run(body) for each body in turn; a failure answers that body alone."""
    global _current_request
    out = []
    for request_id, body in bodies:
        # Each run() call is its own request: its log lines carry its own id.
        _current_request = request_id
        started = time.perf_counter_ns()
        try:
            out.append(answer(run_one(module, text(body), decorated)) + (time.perf_counter_ns() - started,))
        except BadInput as error:
            out.append(("BAD_INPUT", str(error)))
        except Exception as error:
            logging.getLogger("berth").error("run() failed:\n%s", traceback.format_exc().rstrip())
            out.append(("RUN_FAILED", f"{type(error).__name__}: {error}"))
        sys.stdout.flush()
    return out


def serve(module, stdin):
    global _current_request
    decorated = script_schemas(module.run)["decorated"]
    while True:
        message = read_frame(stdin)
        if message is None or message[0] == SHUTDOWN:
            return
        kind, call_id, _current_request, payload = message
        started = time.perf_counter_ns()
        try:
            if kind == RUNS:
                mode, bodies = split_bodies(payload)
                items = run_each(module, bodies, decorated) if mode == 1 else run_batch(module, bodies, started)
                sys.stdout.flush()
                _current_request = None
                send_results(call_id, items, time.perf_counter_ns() - started)
                continue
            reply = answer(call(module, kind, payload, decorated))
        except BadInput as error:
            reply = ("BAD_INPUT", str(error))
        except Exception as error:  # the script's failure is the request's answer, not the worker's end
            logging.getLogger("berth").error("run() failed:\n%s", traceback.format_exc().rstrip())
            reply = ("RUN_FAILED", f"{type(error).__name__}: {error}")
        exec_ns = time.perf_counter_ns() - started
        sys.stdout.flush()
        _current_request = None
        if len(reply) == 2:
            send({"type": "error", "id": call_id, "code": reply[0], "message": reply[1]})
        else:
            send_result(call_id, reply, exec_ns)


def main():
    global _out, _AMLResponse, _encoder
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
        from azureml.contrib.services.aml_response import AMLResponse as _AMLResponse

        _encoder = json.JSONEncoder(default=json_default)
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
    batch = callable(getattr(module, "run_batch", None))
    send({"type": "ready", "schemas": schemas, "python": sys.version.split()[0], "batch": batch})
    serve(module, stdin)


def describe_failure(error):
    return f"{type(error).__name__}: {error}"


if __name__ == "__main__":
    main()
