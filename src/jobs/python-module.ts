/**
 * `berth_run`, the Python side of the metrics file protocol: the runner writes this module into
 * the run folder and puts it on PYTHONPATH, so a training script logs with no package installed.
 * Each call appends one JSON line to $BERTH_RUN_METRICS; outside a berth job it does nothing.
 * `log_metric` / `log_metrics` are MLflow's names, so a script written for MLflow needs only its
 * import changed.
 */
export const pythonModuleName = 'berth_run';

export const pythonModuleSource = `"""Log metrics to the berth job this script runs in (no-op outside a job)."""
import json
import math
import os
import time

__all__ = ["log", "log_metric", "log_metrics", "run_id"]

run_id = os.environ.get("BERTH_RUN_ID")
_path = os.environ.get("BERTH_RUN_METRICS")
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
`;
