#!/usr/bin/env python3
"""Speed of `ocrperf trace analyze` on a ~1 GB trace, against HTA on the same file.

Builds the large trace by replicating a real Kineto trace with shifted timestamps, step
numbers and ids (cached under --work), then times, in this one script and on the same file:

  * `ocrperf trace analyze BIG.json` (one rank: one core) and `BIG.json.gz`;
  * HTA's `TraceAnalysis(trace_dir=...)` load plus `get_temporal_breakdown()`, if the
    `hta` package (HolisticTraceAnalysis on PyPI) is importable.

Each tool runs in its own child process, so wall time and peak RSS (from wait4) are its own.
Prints MB/s, peak RSS as a share of the JSON size, and the HTA ratio; --json writes them.

    python3 tools/trace_bench.py --ocrperf target/release/ocrperf --source testdata/traces/h100/dbnet_fp32_workers8_bs8.json.gz
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time

ID_STRIDE = 10_000_000


def build(source, target, size_mb):
    """Writes copies of `source`'s events, each shifted past the previous one, until the file
    reaches `size_mb` megabytes."""
    with gzip.open(source) if source.endswith(".gz") else open(source, "rb") as f:
        trace = json.load(f)
    events = trace.pop("traceEvents")
    timed = [e for e in events if isinstance(e.get("ts"), (int, float))]
    start = min(e["ts"] for e in timed)
    span = max(e["ts"] + e.get("dur", 0) for e in timed) - start + 1000.0
    tmp = target + ".tmp"
    with open(tmp, "w") as out:
        header = json.dumps(trace)[:-1]
        out.write(header + ', "traceEvents": [\n')
        written, copy, first = out.tell(), 0, True
        while written < size_mb * 1e6:
            shift = copy * span
            chunk = []
            for event in events:
                e = dict(event)
                if isinstance(e.get("ts"), (int, float)):
                    e["ts"] = round(e["ts"] + shift, 3)
                name = e.get("name", "")
                if isinstance(name, str) and name.startswith("ProfilerStep#"):
                    e["name"] = "ProfilerStep#%d" % (int(name[13:]) + copy * 1000)
                if e.get("ph") in ("s", "f") and isinstance(e.get("id"), int):
                    e["id"] += copy * ID_STRIDE
                args = e.get("args")
                if isinstance(args, dict):
                    args = dict(args)
                    for key in ("External id", "correlation"):
                        if isinstance(args.get(key), int):
                            args[key] += copy * ID_STRIDE
                    e["args"] = args
                chunk.append(json.dumps(e))
            text = (",\n" if not first else "") + ",\n".join(chunk)
            out.write(text)
            written += len(text)
            first, copy = False, copy + 1
        out.write("\n]}\n")
    os.replace(tmp, target)
    return copy


def run_child(argv, stdout_path=None):
    """Runs argv; returns (seconds, peak RSS bytes, exit status)."""
    start = time.perf_counter()
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    proc = subprocess.Popen(argv, stdout=out)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if stdout_path:
        out.close()
    return seconds, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


HTA_SNIPPET = """
import logging, sys
logging.disable(logging.WARNING)
from hta.trace_analysis import TraceAnalysis
analysis = TraceAnalysis(trace_dir=sys.argv[1])
print(analysis.get_temporal_breakdown(visualize=False).to_json(orient="records"))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ocrperf", required=True, help="the ocrperf binary (a release build)")
    parser.add_argument("--source", required=True, help="a real trace to replicate")
    parser.add_argument("--work", default="target/ocrperf/trace-bench", help="where the large trace is kept")
    parser.add_argument("--size-mb", type=float, default=1000.0)
    parser.add_argument("--runs", type=int, default=3, help="ocrperf runs per file (median reported)")
    parser.add_argument("--no-hta", action="store_true", help="skip HTA even if installed")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    os.makedirs(os.path.join(args.work, "hta"), exist_ok=True)
    big = os.path.join(args.work, "hta", "big_rank0.json")
    if not os.path.exists(big) or abs(os.path.getsize(big) / 1e6 - args.size_mb) > args.size_mb * 0.05:
        print(f"building a {args.size_mb:.0f} MB trace from {args.source} ...", file=sys.stderr)
        copies = build(args.source, big, args.size_mb)
        print(f"  {copies} copies", file=sys.stderr)
    big_gz = os.path.join(args.work, "big_rank0.json.gz")
    if not os.path.exists(big_gz) or os.path.getmtime(big_gz) < os.path.getmtime(big):
        print("compressing ...", file=sys.stderr)
        with open(big, "rb") as src, gzip.open(big_gz + ".tmp", "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(big_gz + ".tmp", big_gz)
    size = os.path.getsize(big)

    results = {"json_bytes": size, "gzip_bytes": os.path.getsize(big_gz)}
    report_path = os.path.join(args.work, "ocrperf_report.json")
    for label, path in (("json", big), ("gz", big_gz)):
        runs = []
        for _ in range(args.runs):
            seconds, rss, code = run_child(
                [args.ocrperf, "trace", "analyze", path, "--format", "json", "-q", "--no-progress"], report_path
            )
            if code != 0:
                sys.exit(f"ocrperf failed on {path} (exit {code})")
            runs.append((seconds, rss))
        runs.sort()
        seconds, rss = runs[len(runs) // 2]
        results[label] = {"seconds": seconds, "mb_per_s": size / 1e6 / seconds, "peak_rss_bytes": max(r for _, r in runs),
                          "all_seconds": [round(s, 3) for s, _ in runs]}
        with open(report_path) as f:
            report = json.load(f)
        results[label]["temporal"] = report["temporal"]
        print(f"ocrperf {label:4}: {seconds:6.2f} s  {size / 1e6 / seconds:7.1f} MB/s  peak RSS "
              f"{max(r for _, r in runs) / 1e6:7.1f} MB ({100 * max(r for _, r in runs) / size:.1f}% of the JSON)"
              f"  runs {results[label]['all_seconds']}")

    have_hta = not args.no_hta and subprocess.run([sys.executable, "-c", "import hta"], capture_output=True).returncode == 0
    if have_hta:
        hta_out = os.path.join(args.work, "hta_breakdown.json")
        seconds, rss, code = run_child([sys.executable, "-c", HTA_SNIPPET, os.path.dirname(big)], hta_out)
        if code != 0:
            print(f"HTA failed (exit {code}); no ratio", file=sys.stderr)
        else:
            with open(hta_out) as f:
                hta = json.load(f)[0]
            results["hta"] = {"seconds": seconds, "peak_rss_bytes": rss, "breakdown": hta}
            ratio = seconds / results["json"]["seconds"]
            results["hta_ratio"] = ratio
            ours = results["json"]["temporal"][0]
            print(f"HTA     json: {seconds:6.2f} s  {size / 1e6 / seconds:7.1f} MB/s  peak RSS {rss / 1e6:7.1f} MB")
            print(f"ocrperf is {ratio:.1f}x faster than HTA load + temporal breakdown on the same file")
            print("temporal breakdown (idle/compute/non-compute %): "
                  f"ocrperf {ours['idle_pct']:.2f}/{ours['compute_pct']:.2f}/{ours['non_compute_pct']:.2f}, "
                  f"HTA {hta['idle_time_pctg']:.2f}/{hta['compute_time_pctg']:.2f}/{hta['non_compute_time_pctg']:.2f}")
    else:
        print("HTA not installed (pip install HolisticTraceAnalysis): no ratio", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
