#!/usr/bin/env python3
"""GPU readings of `ocrperf monitor` against `nvidia-smi --query-gpu`, taken at the same moments,
while a real PyTorch workload runs.

    python3 tools/gpu_compare.py --ocrperf target/release/ocrperf [--seconds 30]

Starts a matrix-multiply workload on every GPU (PyTorch), `ocrperf monitor --interval 1s --out`,
and `nvidia-smi --query-gpu=... --format=csv -lms 1000` side by side; pairs each ocrperf sample
with the nvidia-smi row nearest in time (within 500 ms) and checks the issue's tolerances:
utilization ±10 points, memory used ±1%, temperature ±2 °C, power ±10%. Prints a table and
exits 1 if a tolerance is broken. Needs an NVIDIA GPU, its driver, nvidia-smi and PyTorch.
"""

import argparse
import csv
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import time

WORKLOAD = """
import sys, time, torch
seconds = float(sys.argv[1])
streams = []
for d in range(torch.cuda.device_count()):
    a = torch.randn(8192, 8192, device=f"cuda:{d}")
    streams.append((d, a))
end = time.time() + seconds
while time.time() < end:
    for d, a in streams:
        a = a @ a
        a = a / a.norm()
    # Idle gaps make utilization move, so the comparison is not only at 100%.
    torch.cuda.synchronize()
    if int(time.time()) % 6 == 0:
        time.sleep(0.5)
"""

FIELDS = "timestamp,index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ocrperf", default="target/release/ocrperf")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="gpu-compare-")
    samples = os.path.join(work, "ocrperf.jsonl")
    smi_out = open(os.path.join(work, "smi.csv"), "w")
    load = subprocess.Popen([sys.executable, "-c", WORKLOAD, str(args.seconds + 4)])
    time.sleep(2)  # let the workload start
    smi = subprocess.Popen(
        ["nvidia-smi", f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits", "-lms", "1000"], stdout=smi_out
    )
    monitor = subprocess.run(
        [args.ocrperf, "monitor", "--interval", "1s", "--duration", f"{int(args.seconds)}s", "--out", samples,
         "--format", "json", "-q"],
        capture_output=True, text=True,
    )
    smi.terminate()
    smi.wait()
    load.wait()
    smi_out.close()
    if monitor.returncode != 0:
        sys.exit(f"ocrperf monitor failed: {monitor.stderr}")

    smi_rows = []
    with open(os.path.join(work, "smi.csv")) as f:
        for row in csv.reader(f):
            if len(row) < 7:
                continue
            stamp = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp() * 1000
            smi_rows.append({
                "t_ms": stamp, "index": int(row[1]), "util": float(row[2]), "mem_mib": float(row[3]),
                "temp": float(row[5]), "power": float(row[6]),
            })
    pairs = []
    with open(samples) as f:
        lines = [json.loads(line) for line in f]
    for sample in lines[1:]:
        if "alert" in sample:
            continue
        for gpu in sample.get("gpus", []):
            if gpu.get("lost"):
                continue
            near = [r for r in smi_rows if r["index"] == gpu["index"] and abs(r["t_ms"] - sample["t_ms"]) <= 500]
            if not near:
                continue
            row = min(near, key=lambda r: abs(r["t_ms"] - sample["t_ms"]))
            pairs.append((sample, gpu, row))
    if not pairs:
        sys.exit("no sample paired with an nvidia-smi row within 500 ms")

    broken = 0
    print(f"{'t (s)':>6} {'gpu':>3}  {'util o/n':>10} {'mem MiB o/n':>18} {'temp o/n':>9} {'power W o/n':>15}")
    start = pairs[0][0]["t_ms"]
    for sample, gpu, row in pairs:
        mem = gpu["memory_used_bytes"] / 2**20
        checks = [
            abs(gpu["utilization_percent"] - row["util"]) <= 10,
            abs(mem - row["mem_mib"]) <= 0.01 * max(row["mem_mib"], 1),
            abs(gpu["temperature_c"] - row["temp"]) <= 2,
            abs(gpu["power_w"] - row["power"]) <= 0.10 * max(row["power"], 1),
        ]
        broken += not all(checks)
        print(f"{(sample['t_ms'] - start) / 1000:6.1f} {gpu['index']:>3}  {gpu['utilization_percent']:4.0f}/{row['util']:<4.0f} "
              f"{mem:8.0f}/{row['mem_mib']:<8.0f} {gpu['temperature_c']:4.0f}/{row['temp']:<4.0f} "
              f"{gpu['power_w']:7.1f}/{row['power']:<7.1f} {'ok' if all(checks) else 'OUT OF TOLERANCE'}")
    print(f"{len(pairs)} paired readings, {broken} out of tolerance (util ±10, memory ±1%, temperature ±2 °C, power ±10%)")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
