#!/usr/bin/env python3
"""Reads the tracker fixtures with each tracker's own Python reader and writes what they see,
the oracle that `regression/tests/fixtures.rs` checks ocrperf's readers against.

    python tools/tracker_oracle.py --fixtures testdata/regression [--old-wandb-python PY]

- TensorBoard: `EventAccumulator` (every scalar kept), which also migrates tensor scalars;
- MLflow: `MlflowClient.get_metric_history` on both stores;
- W&B: `wandb.sdk.internal.datastore.DataStore` (removed from the SDK in 0.20, so it runs in
  `--old-wandb-python`, e.g. a venv with wandb 0.19) over the 0.31 and 0.19 run logs.

Per run and metric: the number of values, the first and last step, the first and last value
and the mean.
"""

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def summary(points):
    """points: list of (step, value)."""
    points = sorted(points, key=lambda p: p[0])
    values = [v for _, v in points]
    return {
        "count": len(points),
        "first_step": points[0][0],
        "last_step": points[-1][0],
        "first": values[0],
        "last": values[-1],
        "mean": sum(values) / len(values),
    }


def tensorboard_runs(root):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = {}
    for run_dir in sorted({p.parent for p in root.rglob("events.out.tfevents.*")}):
        accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
        accumulator.Reload()
        metrics = {}
        for tag in accumulator.Tags()["scalars"]:
            metrics[tag] = summary([(e.step, e.value) for e in accumulator.Scalars(tag)])
        for tag in accumulator.Tags()["tensors"]:
            import numpy as np
            from tensorboard.util import tensor_util

            events = accumulator.Tensors(tag)
            metrics[tag] = summary([(e.step, float(np.asarray(tensor_util.make_ndarray(e.tensor_proto)).reshape(-1)[0])) for e in events])
        out[str(run_dir.relative_to(root.parent))] = metrics
    return out


def mlflow_runs(uri, label):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    out = {}
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            metrics = {}
            for key in run.data.metrics:
                history = client.get_metric_history(run.info.run_id, key)
                points = [(m.step, m.value) for m in history if m.value == m.value]
                metrics[key] = summary(points)
            out[f"{label}#{run.info.run_name}"] = metrics
    return out


WANDB_SCRIPT = r"""
import json, sys
from pathlib import Path
from wandb.proto import wandb_internal_pb2 as pb
from wandb.sdk.internal.datastore import DataStore
out = {}
for path in sorted(Path(sys.argv[1]).rglob("run-*.wandb")):
    store = DataStore()
    store.open_for_scan(str(path))
    series = {}
    while True:
        data = store.scan_data()
        if data is None:
            break
        record = pb.Record()
        record.ParseFromString(data)
        if record.WhichOneof("record_type") != "history":
            continue
        row, step = {}, None
        for item in record.history.item:
            key = item.key or ".".join(item.nested_key)
            try:
                value = json.loads(item.value_json)
            except ValueError:
                continue
            if key == "_step":
                step = value
            elif not key.startswith("_") and isinstance(value, (int, float)) and not isinstance(value, bool):
                row[key] = float(value)
        if record.history.HasField("step"):
            step = record.history.step.num
        for key, value in row.items():
            series.setdefault(key, []).append((step, value))
    out[str(path.relative_to(Path(sys.argv[1]).parent))] = series
print(json.dumps(out))
"""


def wandb_runs(root, python):
    result = subprocess.run([python, "-c", WANDB_SCRIPT, str(root)], check=True, capture_output=True, text=True)
    raw = json.loads(result.stdout)
    return {run: {key: summary(points) for key, points in series.items()} for run, series in raw.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=Path, required=True)
    parser.add_argument("--old-wandb-python", default=sys.executable)
    args = parser.parse_args()
    root = args.fixtures.resolve()
    expected = {}
    expected.update(tensorboard_runs(root / "tensorboard"))
    expected.update(tensorboard_runs(root / "tensorboard-layouts"))
    expected.update(mlflow_runs(f"file://{root / 'mlflow-files' / 'mlruns'}", "mlflow-files"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mlflow.db"
        with gzip.open(root / "mlflow-sqlite" / "mlflow.db.gz") as src, open(db, "wb") as dst:
            shutil.copyfileobj(src, dst)
        expected.update(mlflow_runs(f"sqlite:///{db}", "mlflow-sqlite"))
    for name in ["wandb", "wandb-0.19"]:
        expected.update(wandb_runs(root / name, args.old_wandb_python))
    (root / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {root / 'expected.json'}: {len(expected)} runs")


if __name__ == "__main__":
    main()
