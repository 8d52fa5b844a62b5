/**
 * `berth_run`, the Python side of the metrics file protocol: the runner writes this module into
 * the run folder and puts it on PYTHONPATH, so a training script logs with no package installed.
 * Each call appends one JSON line to $BERTH_RUN_METRICS; outside a berth job it does nothing.
 * `log_metric` / `log_metrics` / `log_table` / `log_image` are MLflow's names (and take MLflow's
 * `data=` / `image=`, `artifact_file=` keywords), so a script written for MLflow needs only its
 * import changed. Tables and images go under $BERTH_RUN_HISTORY (see history.ts).
 */
export const pythonModuleName = 'berth_run';

export const pythonModuleSource = `"""Log metrics to the berth job this script runs in (no-op outside a job)."""
import json
import math
import os
import re
import shutil
import time

__all__ = ["log", "log_metric", "log_metrics", "log_table", "log_image", "run_id"]

run_id = os.environ.get("BERTH_RUN_ID")
_path = os.environ.get("BERTH_RUN_METRICS")
_history = os.environ.get("BERTH_RUN_HISTORY")
_name = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_image_extensions = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp")
_rank = int(os.environ.get("RANK", "0"))


def log_metric(key, value, step=None):
    """Append one value of the series \`key\`; \`step\` defaults to the series' next index."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("metric %s: %r is not a finite number" % (key, value))
    if _path is None:
        return
    line = {"key": str(key), "value": value, "timestamp": time.time() * 1000, "rank": _rank}
    if step is not None:
        line["step"] = int(step)
    with open(_path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\\n")


log = log_metric


def log_metrics(metrics, step=None):
    for key, value in metrics.items():
        log_metric(key, value, step)


def _check_name(name, what):
    name = str(name)
    if not _name.match(name) or ".." in name:
        raise ValueError("%s name %r: expected letters, digits, _, - and . (no folders)" % (what, name))
    return name


def _rows(data):
    if hasattr(data, "to_dict"):  # a pandas DataFrame
        return data.to_dict(orient="records")
    if isinstance(data, dict):  # columns: {"a": [1, 2], "b": [3, 4]}
        columns = list(data.keys())
        length = len(data[columns[0]]) if columns else 0
        return [{c: data[c][i] for c in columns} for i in range(length)]
    rows = list(data)
    if not all(isinstance(row, dict) for row in rows):
        raise ValueError("a table is a list of row dicts, a dict of columns or a DataFrame")
    return rows


def _plain(value):
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


def log_table(name=None, rows=None, data=None, artifact_file=None):
    """Append rows (a list of dicts, a dict of columns or a DataFrame) to the table \`name\`."""
    name = name if name is not None else artifact_file
    rows = rows if rows is not None else data
    if name is None or rows is None:
        raise ValueError("log_table(name, rows) or log_table(data=..., artifact_file=...)")
    table = _check_name(re.sub(r"\\.jsonl?$", "", str(name)), "table")
    lines = "".join(json.dumps({str(k): _plain(v) for k, v in row.items()}) + "\\n" for row in _rows(rows))
    if _history is None:
        return
    folder = os.path.join(_history, "tables")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, table + ".jsonl"), "a", encoding="utf-8") as handle:
        handle.write(lines)


def log_image(name=None, file=None, image=None, artifact_file=None):
    """Keep an image with the run: a file path, or a PIL image (MLflow's image=, artifact_file=)."""
    source = file if file is not None else image
    name = name if name is not None else artifact_file
    if name is None or source is None:
        raise ValueError("log_image(name, file) or log_image(image=..., artifact_file=...)")
    name = _check_name(name, "image")
    if isinstance(source, (str, os.PathLike)):
        ext = os.path.splitext(str(source))[1].lower()
    else:
        ext = os.path.splitext(name)[1].lower() or ".png"
    if ext not in _image_extensions:
        raise ValueError("image %s: expected one of %s" % (source, " ".join(_image_extensions)))
    if _history is None:
        return
    folder = os.path.join(_history, "images")
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, name if name.lower().endswith(ext) else name + ext)
    if isinstance(source, (str, os.PathLike)):
        shutil.copyfile(source, target)
    elif hasattr(source, "save"):  # a PIL image
        source.save(target)
    else:
        raise ValueError("log_image: give a file path or a PIL image")
`;
