#!/usr/bin/env python3
"""Speed of `ocrperf trace analyze` on a ~1 GB trace, against HTA on the same file.

Builds the large traces by replicating real Kineto traces with shifted timestamps, step
numbers and ids (cached under --work): the plain kind (--source) and, with --stack-source,
the kind users record to hunt Python overhead (`with_stack=True, profile_memory=True`: mostly
`python_function` spans and `[memory]` events). Then times, in this one script, alternating
between the files:

  * `ocrperf trace analyze BIG.json` (one rank: one core) for each kind, and the plain
    kind's `BIG.json.gz`; medians of --runs, and seconds per GB;
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


def ensure_big(source, work, subdir, size_mb):
    """The ~size_mb trace built from `source` (cached), its directory being HTA's trace_dir."""
    os.makedirs(os.path.join(work, subdir), exist_ok=True)
    big = os.path.join(work, subdir, "big_rank0.json")
    if not os.path.exists(big) or abs(os.path.getsize(big) / 1e6 - size_mb) > size_mb * 0.05:
        print(f"building a {size_mb:.0f} MB trace from {source} ...", file=sys.stderr)
        copies = build(source, big, size_mb)
        print(f"  {copies} copies", file=sys.stderr)
    return big


def time_ocrperf(ocrperf, path, report_path):
    seconds, rss, code = run_child([ocrperf, "trace", "analyze", path, "--format", "json", "-q", "--no-progress"],
                                   report_path)
    if code != 0:
        sys.exit(f"ocrperf failed on {path} (exit {code})")
    return seconds, rss


def time_hta(trace_dir, out_path):
    """HTA's load plus temporal breakdown; for a trace without kernels (the breakdown needs
    them), its load alone. Returns (seconds, rss, breakdown or None, what was timed)."""
    seconds, rss, code = run_child([sys.executable, "-c", HTA_SNIPPET, trace_dir], out_path)
    if code == 0:
        with open(out_path) as f:
            return seconds, rss, json.load(f)[0], "load + temporal breakdown"
    seconds, rss, code = run_child([sys.executable, "-c", HTA_LOAD_ONLY, trace_dir], out_path)
    if code == 0:
        return seconds, rss, None, "load only (no kernels for a temporal breakdown)"
    return None


HTA_LOAD_ONLY = """
import logging, sys
logging.disable(logging.WARNING)
from hta.trace_analysis import TraceAnalysis
TraceAnalysis(trace_dir=sys.argv[1])
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ocrperf", required=True, help="the ocrperf binary (a release build)")
    parser.add_argument("--source", required=True, help="a real trace to replicate (the plain kind)")
    parser.add_argument("--stack-source", help="a real with_stack=True, profile_memory=True trace to replicate")
    parser.add_argument("--work", default="target/ocrperf/trace-bench", help="where the large traces are kept")
    parser.add_argument("--size-mb", type=float, default=1000.0)
    parser.add_argument("--runs", type=int, default=3, help="ocrperf runs per file (median reported)")
    parser.add_argument("--no-hta", action="store_true", help="skip HTA even if installed")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    kinds = [("plain", ensure_big(args.source, args.work, "hta", args.size_mb))]
    if args.stack_source:
        kinds.append(("stack+memory", ensure_big(args.stack_source, args.work, "hta-stack", args.size_mb)))
    big = kinds[0][1]
    big_gz = os.path.join(args.work, "big_rank0.json.gz")
    if not os.path.exists(big_gz) or os.path.getmtime(big_gz) < os.path.getmtime(big):
        print("compressing ...", file=sys.stderr)
        with open(big, "rb") as src, gzip.open(big_gz + ".tmp", "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(big_gz + ".tmp", big_gz)

    results = {"json_bytes": os.path.getsize(big), "gzip_bytes": os.path.getsize(big_gz), "kinds": {}}
    report_path = os.path.join(args.work, "ocrperf_report.json")
    # Runs alternate between the files, so that a noisy neighbour slows all kinds alike.
    files = [(label, path) for label, path in kinds] + [("plain.gz", big_gz)]
    runs = {label: [] for label, _ in files}
    for _ in range(args.runs):
        for label, path in files:
            runs[label].append(time_ocrperf(args.ocrperf, path, report_path))
    for label, path in files:
        size = os.path.getsize(path if not path.endswith(".gz") else big)
        timed = sorted(runs[label])
        seconds = timed[len(timed) // 2][0]
        peak = max(r for _, r in timed)
        entry = {"bytes": size, "seconds": seconds, "mb_per_s": size / 1e6 / seconds, "s_per_gb": seconds / (size / 1e9),
                 "peak_rss_bytes": peak, "all_seconds": [round(s, 3) for s, _ in timed]}
        results["kinds"][label] = entry
        print(f"ocrperf {label:13}: median {seconds:6.2f} s  {size / 1e6 / seconds:7.1f} MB/s  "
              f"{entry['s_per_gb']:5.2f} s/GB  peak RSS {peak / 1e6:7.1f} MB ({100 * peak / size:.1f}% of the JSON)  "
              f"runs {entry['all_seconds']}")
    if "stack+memory" in results["kinds"]:
        ratio = results["kinds"]["stack+memory"]["s_per_gb"] / results["kinds"]["plain"]["s_per_gb"]
        results["stack_vs_plain_s_per_gb"] = ratio
        print(f"stack+memory takes {ratio:.2f}x the plain kind's time per GB")

    have_hta = not args.no_hta and subprocess.run([sys.executable, "-c", "import hta"], capture_output=True).returncode == 0
    if not have_hta:
        print("HTA not installed (pip install HolisticTraceAnalysis): no ratio", file=sys.stderr)
    for label, path in kinds if have_hta else []:
        timed = time_hta(os.path.dirname(path), os.path.join(args.work, "hta_out.json"))
        if timed is None:
            print(f"HTA failed on the {label} trace; no ratio", file=sys.stderr)
            continue
        seconds, rss, breakdown, what = timed
        ratio = seconds / results["kinds"][label]["seconds"]
        results["kinds"][label]["hta"] = {"seconds": seconds, "peak_rss_bytes": rss, "timed": what, "ratio": ratio}
        size = os.path.getsize(path)
        print(f"HTA     {label:13}: {seconds:6.2f} s  {size / 1e6 / seconds:7.1f} MB/s  peak RSS {rss / 1e6:7.1f} MB "
              f"({what}); ocrperf is {ratio:.1f}x faster")
        if breakdown is not None:
            time_ocrperf(args.ocrperf, path, report_path)
            with open(report_path) as f:
                ours = json.load(f)["temporal"][0]
            print("  temporal breakdown (idle/compute/non-compute %): "
                  f"ocrperf {ours['idle_pct']:.2f}/{ours['compute_pct']:.2f}/{ours['non_compute_pct']:.2f}, "
                  f"HTA {breakdown['idle_time_pctg']:.2f}/{breakdown['compute_time_pctg']:.2f}/"
                  f"{breakdown['non_compute_time_pctg']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
