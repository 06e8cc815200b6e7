#!/usr/bin/env python3
"""Writes the regression gate's tracker fixtures with the trackers' own writers.

    pip install wandb mlflow tensorboard tensorboardX numpy
    python tools/make_tracker_fixtures.py --out testdata/regression

Every run is the same synthetic DBNet training smoke run, logged the way users log one:
`perf/step_time_ms`, `perf/data_wait_ms`, `perf/samples_per_sec`, `train/loss`, `lr`, `epoch`
every step and `val/hmean` every 50 steps. Its noise is what real runs show:

- a warm-up: the first ~20 steps are slower (allocator, cuDNN autotuning, cold caches);
- AR(1) noise (phi = 0.85, 2% stationary sd): neighbouring steps are alike;
- a sine wobble (1.5%, period 25-60 steps): thermal or co-tenant cycles;
- a checkpoint spike every 50 steps (+30%);
- a run-level offset (1% sd): the run-to-run variation that a gate must not call a change.

`slower` runs take 12% longer per model step (the data wait is unchanged), so the gate must
call `perf/step_time_ms` and `perf/samples_per_sec` regressed and everything else unchanged.

The noise set (`noise/run-NN`, tensorboardX) is 24 unchanged runs for the false-alarm count.
Nothing here is run by tests; the files it writes are committed.
"""

import argparse
import math
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

STEPS = 300
BATCH = 8


def training_run(seed, slowdown=0.0, steps=STEPS):
    """Rows of one run: dicts of metric -> value, with `step`."""
    rng = np.random.default_rng(seed)
    level = 1.0 + rng.normal(0.0, 0.01)
    period = rng.uniform(25.0, 60.0)
    phase = rng.uniform(0.0, 2.0 * math.pi)
    phi, sd = 0.85, 0.02
    ar = 0.0
    rows = []
    for step in range(steps):
        ar = phi * ar + rng.normal(0.0, sd * math.sqrt(1.0 - phi * phi))
        wobble = 0.015 * math.sin(2.0 * math.pi * step / period + phase)
        warm = 0.6 * math.exp(-step / 6.0)
        spike = 0.3 if step % 50 == 49 else 0.0
        compute_ms = 80.0 * level * (1.0 + slowdown) * (1.0 + ar + wobble + warm + spike)
        wait_ms = max(0.0, 6.0 * level * (1.0 + rng.normal(0.0, 0.15)))
        step_ms = compute_ms + wait_ms
        row = {
            "step": step,
            "perf/step_time_ms": step_ms,
            "perf/data_wait_ms": wait_ms,
            "perf/samples_per_sec": BATCH * 1000.0 / step_ms,
            "train/loss": 2.0 * math.exp(-step / 120.0) + 0.3 + rng.normal(0.0, 0.02),
            "lr": 0.007 * (1.0 - step / steps) ** 0.9,
            "epoch": step // 100,
        }
        if step % 50 == 49:
            row["val/hmean"] = 0.80 + 0.08 * (1.0 - math.exp(-step / 150.0)) + rng.normal(0.0, 0.004)
        rows.append(row)
    return rows


RUNS = {"baseline": (11, 0.0), "slower": (12, 0.12)}


def write_wandb(out, python):
    """One offline run per side, written by the wandb SDK in `python` (a subprocess, so that
    an older SDK can write the second fixture set)."""
    script = r"""
import sys, json, wandb
name, rows, out = sys.argv[1], json.loads(open(sys.argv[2]).read()), sys.argv[3]
run = wandb.init(mode="offline", dir=out, project="ocrperf-fixtures", name=name,
                 config={"batch_size": 8, "workers": 4, "model": "dbnet-resnet18"})
for row in rows:
    step = row.pop("step")
    run.log(row, step=step)
run.summary["best_hmean"] = max(r["val/hmean"] for r in rows if "val/hmean" in r)
run.finish()
"""
    for name, (seed, slowdown) in RUNS.items():
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        rows_file = target / "rows.json"
        import json

        rows_file.write_text(json.dumps(training_run(seed, slowdown)))
        env = dict(os.environ, WANDB_SILENT="true", WANDB_MODE="offline")
        subprocess.run([python, "-c", script, name, str(rows_file), str(target)], check=True, env=env)
        rows_file.unlink()
        # Keep the run log and what the SDK wrote beside it, not its debug logs.
        for run_dir in (target / "wandb").glob("offline-run-*"):
            for junk in ["logs", "tmp"]:
                shutil.rmtree(run_dir / junk, ignore_errors=True)
            for link in (target / "wandb").glob("latest-run"):
                link.unlink()
            (target / "wandb" / "debug.log").unlink(missing_ok=True)
            (target / "wandb" / "debug-internal.log").unlink(missing_ok=True)


def write_mlflow(out):
    import mlflow

    for store in ["files", "sqlite"]:
        target = out / f"mlflow-{store}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        uri = f"file://{target / 'mlruns'}" if store == "files" else f"sqlite:///{target / 'mlflow.db'}"
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("ocrperf-fixtures")
        for name, (seed, slowdown) in RUNS.items():
            with mlflow.start_run(run_name=name):
                mlflow.log_params({"batch_size": 8, "workers": 4})
                mlflow.set_tag("host", "trainer-01")
                for row in training_run(seed, slowdown):
                    step = row.pop("step")
                    mlflow.log_metrics(row, step=step)
        if store == "sqlite":
            import sqlite3

            with sqlite3.connect(target / "mlflow.db") as db:
                db.execute("VACUUM")


def write_tensorboard(out):
    from tensorboardX import SummaryWriter

    target = out / "tensorboard"
    if target.exists():
        shutil.rmtree(target)
    for name, (seed, slowdown) in RUNS.items():
        writer = SummaryWriter(logdir=str(target / name))
        for row in training_run(seed, slowdown):
            step = row.pop("step")
            for tag, value in row.items():
                writer.add_scalar(tag, value, step, walltime=1.7e9 + step * 0.09)
        writer.close()


def write_tensor_layouts(out):
    """TF2's layout (tensor_content, metadata with a tag's first value only) and PyTorch's
    `new_style=True` layout (float_val, metadata every time), with TensorBoard's own writer and
    protos (TensorFlow and PyTorch are gigabytes; the bytes are theirs)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorboard.plugins.scalar import metadata as scalar_metadata
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    for layout in ["tf2", "torch"]:
        target = out / "tensorboard-layouts" / layout
        if target.exists():
            shutil.rmtree(target)
        writer = EventFileWriter(str(target))
        seen = set()
        for row in training_run(21, 0.0, steps=60):
            step = row.pop("step")
            values = []
            for tag, value in row.items():
                if layout == "tf2":
                    tensor = tensor_pb2.TensorProto(
                        dtype=types_pb2.DT_FLOAT,
                        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
                        tensor_content=struct.pack("<f", value),
                    )
                else:
                    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[value])
                summary_value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
                if layout == "torch" or tag not in seen:
                    summary_value.metadata.CopyFrom(scalar_metadata.create_summary_metadata(display_name=tag, description=""))
                    seen.add(tag)
                values.append(summary_value)
            event = event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary_pb2.Summary(value=values))
            writer.add_event(event)
        writer.close()


def write_noise_set(out, runs):
    from tensorboardX import SummaryWriter

    target = out / "noise"
    if target.exists():
        shutil.rmtree(target)
    for index in range(runs):
        writer = SummaryWriter(logdir=str(target / f"run-{index:02d}"))
        for row in training_run(1000 + index, 0.0, steps=240):
            step = row.pop("step")
            for tag in ["perf/step_time_ms", "perf/data_wait_ms", "perf/samples_per_sec"]:
                writer.add_scalar(tag, row[tag], step, walltime=1.7e9 + step * 0.09)
        writer.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--old-wandb-python", help="a python with an older wandb SDK (e.g. 0.19) for a second W&B fixture set")
    parser.add_argument("--noise-runs", type=int, default=24)
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    write_wandb(args.out / "wandb", sys.executable)
    if args.old_wandb_python:
        write_wandb(args.out / "wandb-0.19", args.old_wandb_python)
    write_mlflow(args.out)
    write_tensorboard(args.out)
    write_tensor_layouts(args.out)
    write_noise_set(args.out, args.noise_runs)
    print(f"wrote fixtures under {args.out}")


if __name__ == "__main__":
    main()
