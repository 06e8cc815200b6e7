#!/usr/bin/env python3
"""Speed of ocrperf's TensorBoard and W&B readers against the trackers' own Python readers, on
the same files, in this one script.

  * TensorBoard: a ~200 MB event file of scalar summaries (real records from tensorboardX,
    repeated with fresh steps); TensorBoard's `EventFileLoader` (every event parsed) against
    `ocrperf baseline DIR`.
  * W&B: a ~100 MB `.wandb` run log (history records like the SDK's, written with wandb's own
    `DataStore` writer); `DataStore.scan_data` plus parsing each `Record` against
    `ocrperf baseline FILE`. wandb removed the Python `DataStore` in 0.20, so this part runs
    with --wandb-python, a Python that has an older wandb (0.19).

ocrperf runs as a child process and is timed whole (start-up, reading, summarising, writing
its JSON); the Python readers are timed in-process after their imports. Each side runs
--rounds times and the median is kept.

    python3 tools/reader_bench.py --ocrperf target/release/ocrperf --wandb-python /path/to/venv/bin/python
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def median_time(fn, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ocrperf_time(ocrperf, source, rounds):
    def run():
        out = subprocess.run([ocrperf, "baseline", source, "--format", "json", "-q"], check=True, capture_output=True)
        report = json.loads(out.stdout)
        # Every value read: the steady-state samples and the warm-up left out.
        return sum(m["samples"] + m["warmup"] for m in report["metrics"] if m["kind"] == "series")

    return median_time(run, rounds)


def build_tensorboard(directory, size_mb):
    """A real tensorboardX event file, its scalar records repeated with new steps."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter
    from tensorboardX import SummaryWriter

    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "events.out.tfevents.1700000000.bench")
    if os.path.exists(path) and os.path.getsize(path) >= size_mb * 1e6:
        return path
    with tempfile.TemporaryDirectory() as tmp:
        writer = SummaryWriter(logdir=tmp)
        tags = ["perf/step_time_ms", "perf/data_wait_ms", "perf/samples_per_sec", "train/loss", "lr", "epoch", "val/hmean"]
        for step in range(1000):
            for index, tag in enumerate(tags):
                writer.add_scalar(tag, 100.0 + index + step * 1e-3, step, walltime=1.7e9 + step * 0.09)
        writer.close()
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        source = [f for f in os.listdir(tmp) if f.startswith("events.out.tfevents.")][0]
        events = list(EventFileLoader(os.path.join(tmp, source)).Load())
    summaries = [e for e in events if e.HasField("summary")]
    with open(path + ".tmp", "wb") as out:
        record_writer = RecordWriter(out)
        record_writer.write(events[0].SerializeToString())  # file_version
        block, written = 0, 0
        while written < size_mb * 1e6:
            for event in summaries:
                copy = event_pb2.Event()
                copy.CopyFrom(event)
                copy.step = event.step + block * 1000
                data = copy.SerializeToString()
                record_writer.write(data)
                written += len(data) + 16
            block += 1
        record_writer.flush()
    os.replace(path + ".tmp", path)
    return path


def tensorboard_python(path):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    values = 0
    for event in EventFileLoader(path).Load():
        values += len(event.summary.value)
    return values


WANDB_PART = r"""
import json, os, statistics, sys, time
from wandb.proto import wandb_internal_pb2 as pb
from wandb.sdk.internal.datastore import DataStore

path, size_mb, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
if not (os.path.exists(path) and os.path.getsize(path) >= size_mb * 1e6):
    store = DataStore()
    store.open_for_write(path + ".tmp")
    keys = ["perf/step_time_ms", "perf/data_wait_ms", "perf/samples_per_sec", "train/loss", "lr", "epoch"]
    step = 0
    while os.path.getsize(path + ".tmp") < size_mb * 1e6:
        for _ in range(1000):
            record = pb.Record()
            for index, key in enumerate(keys):
                item = record.history.item.add()
                item.key = key
                item.value_json = json.dumps(100.0 + index + step * 1e-3)
            for key, value in (("_step", step), ("_runtime", step * 0.09), ("_timestamp", 1.7e9 + step * 0.09)):
                item = record.history.item.add()
                item.key = key
                item.value_json = json.dumps(value)
            record.history.step.num = step
            store.write(record)
            step += 1
    store.close()
    os.replace(path + ".tmp", path)

def scan(level):
    store = DataStore()
    store.open_for_scan(path)
    count = 0
    while True:
        data = store.scan_data()
        if data is None:
            break
        if level == 0:
            count += 1
            continue
        record = pb.Record()
        record.ParseFromString(data)
        if level == 1:
            count += len(record.history.item)
            continue
        for item in record.history.item:
            value = json.loads(item.value_json)
            if not item.key.startswith("_") and isinstance(value, (int, float)):
                count += 1
    return count

out = {}
for name, parse in (("scan", 0), ("scan_and_parse", 1), ("scan_parse_and_decode", 2)):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        count = scan(parse)
        times.append(time.perf_counter() - start)
    out[name] = {"seconds": statistics.median(times), "count": count}
print(json.dumps(out))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ocrperf", required=True)
    parser.add_argument("--work", default="target/reader-bench")
    parser.add_argument("--tensorboard-mb", type=float, default=200)
    parser.add_argument("--wandb-mb", type=float, default=100)
    parser.add_argument("--wandb-python", help="a Python with wandb 0.19 (the last with DataStore); default: skip W&B")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--only", choices=["tensorboard", "wandb"])
    args = parser.parse_args()
    results = {}

    if args.only != "wandb":
        tensorboard_part(args, results)
    if args.only != "tensorboard":
        wandb_part(args, results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    ok = "tensorboard" not in results or (results["tensorboard"]["ratio"] >= 20 and results["tensorboard"]["ocrperf_mb_per_s"] >= 200)
    if "wandb" in results:
        ok = ok and results["wandb"]["ratio_scan"] >= 20
    sys.exit(0 if ok else 1)


def tensorboard_part(args, results):
    tb_dir = os.path.join(args.work, "tensorboard")
    tb_file = build_tensorboard(tb_dir, args.tensorboard_mb)
    size = os.path.getsize(tb_file)
    ours, values = ocrperf_time(args.ocrperf, tb_dir, args.rounds)
    theirs, their_values = median_time(lambda: tensorboard_python(tb_file), args.rounds)
    results["tensorboard"] = {
        "bytes": size,
        "ocrperf_seconds": ours,
        "ocrperf_mb_per_s": size / 1e6 / ours,
        "ocrperf_values": values,
        "event_file_loader_seconds": theirs,
        "event_file_loader_values": their_values,
        "ratio": theirs / ours,
    }
    print(
        f"TensorBoard, {size / 1e6:.0f} MB: ocrperf {ours:.2f} s ({size / 1e6 / ours:.0f} MB/s, {values} values); "
        f"EventFileLoader {theirs:.1f} s ({their_values} values): {theirs / ours:.0f}x"
    )


def wandb_part(args, results):
    if args.wandb_python:
        wb_file = os.path.join(args.work, "wandb", "run-bench.wandb")
        os.makedirs(os.path.dirname(wb_file), exist_ok=True)
        part = subprocess.run(
            [args.wandb_python, "-c", WANDB_PART, wb_file, str(args.wandb_mb), str(args.rounds)],
            check=True,
            capture_output=True,
            text=True,
        )
        theirs = json.loads(part.stdout.strip().splitlines()[-1])
        size = os.path.getsize(wb_file)
        ours, values = ocrperf_time(args.ocrperf, wb_file, args.rounds)
        scan, parse = theirs["scan"]["seconds"], theirs["scan_and_parse"]["seconds"]
        decode = theirs["scan_parse_and_decode"]["seconds"]
        results["wandb"] = {
            "bytes": size,
            "ocrperf_seconds": ours,
            "ocrperf_mb_per_s": size / 1e6 / ours,
            "ocrperf_values": values,
            "datastore_scan_seconds": scan,
            "datastore_scan_and_parse_seconds": parse,
            "datastore_scan_parse_and_decode_seconds": decode,
            "datastore_values": theirs["scan_parse_and_decode"]["count"],
            "ratio_scan": scan / ours,
            "ratio_scan_and_parse": parse / ours,
            "ratio_scan_parse_and_decode": decode / ours,
        }
        print(
            f"W&B, {size / 1e6:.0f} MB: ocrperf {ours:.2f} s ({size / 1e6 / ours:.0f} MB/s, {values} values); "
            f"DataStore scan alone {scan:.2f} s: {scan / ours:.1f}x; scan and parse {parse:.2f} s: {parse / ours:.1f}x; "
            f"scan, parse and decode the values {decode:.2f} s ({theirs['scan_parse_and_decode']['count']} values): {decode / ours:.1f}x"
        )
    else:
        print("W&B: skipped (give --wandb-python with a wandb 0.19 install: its DataStore is the reference)")


if __name__ == "__main__":
    main()
