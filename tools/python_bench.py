#!/usr/bin/env python3
"""The Python package's targets, measured against the Python reference in the same run.

    python3 tools/python_bench.py [--quick] [--paddleocr DIR] [--json out.json]

Needs the package (``pip install ./ocrperf-py``, a release build for meaningful speed) and the
reference's dependencies (numpy, opencv-python-headless, pyclipper, shapely); the DataLoader
section needs torch. Sections, each printing its figures and whether its target is met:

1. parity: digests through the Python API on testdata/dbnet and testdata/dbnet-hard (DB), and
   PaddleOCR's recorded digests (or PaddleOCR's own classes, with ``--paddleocr``);
2. per call, one thread, the same images: the reference (tools/dbnet_reference.py, DB's
   MakeSegDetectionData + MakeBorderMap) against MakeSegDetectionData + MakeBorderMap (no
   cache), DBTargets without a cache, and DBTargets warm (targets: >= 25x, >= 60x warm);
   with ``--paddleocr``, PaddleOCR's classes against ocrperf.dbnet.paddle too;
3. a torch DataLoader, 2 workers, targets + collate, images/s: reference, ocrperf, compact;
4. two Python threads calling DBTargets against one (target: >= 1.8x);
5. RSS over 100,000 calls (target: flat within 5%).

Times are medians of repeated passes; the machines are shared, so read ratios, not seconds.
"""

import argparse
import gc
import importlib.util
import json
import os
import pathlib
import statistics
import sys
import threading
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "ocrperf-py" / "tests"))

import dbnet_reference as reference  # noqa: E402
from gt_samples import sha256 as sha  # noqa: E402
import paddle_parity  # noqa: E402

from ocrperf.dbnet import DBTargets, MakeBorderMap, MakeSegDetectionData  # noqa: E402
from ocrperf.dbnet import paddle as ocr_paddle  # noqa: E402

RESULTS = {}


def say(line=""):
    print(line, flush=True)


def check(name, value, target, higher=True):
    ok = value >= target if higher else value <= target
    RESULTS[name] = {"value": value, "target": target, "met": ok}
    return "met" if ok else "MISSED"


def samples(directory):
    """(size, polygons, tags) of every ground-truth file, as the reference reads them."""
    return [reference.read_gt(path) for path in sorted(pathlib.Path(directory).glob("*.txt"))]


_IMAGES = {}


def db_dict(size, polygons, tags):
    """DB's data dict, with fresh polygons (the steps edit them in place). The image is made once
    per size and shared: only its shape is read, and making it is not the targets' cost."""
    h, w = size
    image = _IMAGES.get((h, w))
    if image is None:
        image = _IMAGES[(h, w)] = np.zeros((h, w, 3), np.float32)
    return {"image": image, "polygons": [p.copy() for p in polygons],
            "ignore_tags": np.array(tags, dtype=np.uint8), "is_training": True, "filename": ""}


# ----------------------------------------------------------------------------------- parity
def parity(paddleocr):
    say("## 1. Parity")
    seg, border, targets = MakeSegDetectionData(), MakeBorderMap(), DBTargets()
    for name in ("dbnet", "dbnet-hard"):
        root = ROOT / "testdata" / name
        digests = json.loads((root / "expected" / "digests.json").read_text())["files"]
        files = sorted((root / "gt").glob("*.txt"))
        same = 0
        for path in files:
            for run in (lambda d: border(seg(d)), targets, targets):  # drop-ins, cold, warm
                data = run(db_dict(*reference.read_gt(path)))
                got = {"gt": sha(data["gt"][0]), "mask": sha(data["mask"]), "thresh": sha(data["thresh_map"]),
                       "thresh_mask": sha(data["thresh_mask"])}
                same += got == digests[path.name]
        total = 3 * len(files)
        say(f"- DB, testdata/{name}: {same}/{total} digest-identical (drop-ins, DBTargets cold, warm): "
            f"{check(f'parity_db_{name}', same / total, 1.0)}")
    sets = [ROOT / "testdata" / n / "gt" for n in ("dbnet", "dbnet-hard", "paddle-awkward")]
    files = paddle_parity.files_of(sets)
    got = paddle_parity.run(ocr_paddle.MakeBorderMap, ocr_paddle.MakeShrinkMap, files)
    if paddleocr:
        border_cls, shrink_cls = paddle_parity.load_paddleocr(paddleocr)
        expected, source = paddle_parity.run(border_cls, shrink_cls, files), "PaddleOCR's classes, live"
    else:
        expected = json.loads((ROOT / "testdata" / "paddle" / "digests.json").read_text())["files"]
        source = "PaddleOCR's recorded digests"
    same = sum(got[k][s] == expected[k][s] for k in got for s in paddle_parity.SCHEDULES)
    total = len(got) * len(paddle_parity.SCHEDULES)
    say(f"- PaddleOCR ({source}), dbnet + dbnet-hard + paddle-awkward x 3 ratio schedules: {same}/{total}: "
        f"{check('parity_paddle', same / total, 1.0)}")


# ------------------------------------------------------------------------------ per call
def per_pass(function, items, repeats):
    """Median seconds per item over `repeats` passes over `items`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            function(item)
        times.append((time.perf_counter() - start) / len(items))
    return statistics.median(times)


def speed(quick, paddleocr):
    say("\n## 2. Per call, one thread (testdata/dbnet, 640x640; rounds interleave the reference and ocrperf)")
    data = samples(ROOT / "testdata" / "dbnet" / "gt")
    if quick:
        data = data[:12]
    rounds = 2 if quick else 5
    seg, border = MakeSegDetectionData(), MakeBorderMap()
    uncached, warm_targets = DBTargets(cache_mb=0), DBTargets()
    per_pass(lambda s: warm_targets(db_dict(*s)), data, 1)  # fill the cache once
    makers = {
        "MakeSegDetectionData + MakeBorderMap": lambda s: border(seg(db_dict(*s))),
        "DBTargets, no cache": lambda s: uncached(db_dict(*s)),
        "DBTargets, warm cache": lambda s: warm_targets(db_dict(*s)),
    }
    times = {"reference": []} | {name: [] for name in makers}
    ratios = {name: [] for name in makers}
    for _ in range(rounds):
        # One reference pass, then each of ocrperf's: a load change on the machine hits both.
        ref = per_pass(lambda s: reference.make_targets(*s), data, 1)
        times["reference"].append(ref)
        for name, make in makers.items():
            ours = per_pass(make, data, 3)
            times[name].append(ours)
            ratios[name].append(ref / ours)
    median = statistics.median
    say(f"| | ms per image (median of {rounds} rounds) | vs reference (median of the rounds' ratios) |")
    say("|---|---:|---:|")
    say(f"| reference (tools/dbnet_reference.py) | {median(times['reference']) * 1e3:.2f} | 1.0x |")
    for name in makers:
        say(f"| {name} | {median(times[name]) * 1e3:.3f} | {median(ratios[name]):.1f}x "
            f"({min(ratios[name]):.1f}-{max(ratios[name]):.1f}) |")
    for name, key, target in [("MakeSegDetectionData + MakeBorderMap", "speed_uncached", 25),
                              ("DBTargets, no cache", "speed_dbtargets_uncached", 25),
                              ("DBTargets, warm cache", "speed_warm", 60)]:
        value = median(ratios[name])
        say(f"- {name} >= {target}x: {value:.1f}x {check(key, value, target)}")
    if paddleocr:
        border_cls, shrink_cls = paddle_parity.load_paddleocr(paddleocr)
        files = sorted((ROOT / "testdata" / "dbnet" / "gt").glob("*.txt"))[: len(data)]
        items = [paddle_parity.sample(p) for p in files]
        fresh = lambda d: {"image": d["image"], "polys": d["polys"].copy(), "ignore_tags": d["ignore_tags"].copy()}
        pb, ps = border_cls(), shrink_cls()
        ob, os_ = ocr_paddle.MakeBorderMap(), ocr_paddle.MakeShrinkMap()
        paddle = []
        for _ in range(max(1, rounds // 2)):
            theirs = per_pass(lambda d: ps(pb(fresh(d))), items, 1)
            ours = per_pass(lambda d: os_(ob(fresh(d))), items, 3)
            paddle.append((theirs, ours))
        theirs, ours = median(t for t, _ in paddle), median(o for _, o in paddle)
        ratio = median(t / o for t, o in paddle)
        say(f"- PaddleOCR's MakeBorderMap + MakeShrinkMap {theirs * 1e3:.2f} ms, ocrperf.dbnet.paddle "
            f"{ours * 1e3:.3f} ms: {ratio:.1f}x")
        RESULTS["speed_paddle"] = {"value": ratio}


# ---------------------------------------------------------------------------- DataLoader
class TargetsDataset:
    """DB-style samples of the built-in ground truth through one of the target makers."""

    def __init__(self, data, kind):
        self.data, self.kind, self.maker = data, kind, None

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        import torch

        size, polygons, tags = self.data[index]
        if self.kind == "reference":
            maps = reference.make_targets(size, polygons, tags)
            out = {"gt": maps["gt"][None], "mask": maps["mask"], "thresh_map": maps["thresh"],
                   "thresh_mask": maps["thresh_mask"]}
        else:
            if self.maker is None:  # one per worker process, kept with persistent_workers
                self.maker = DBTargets(compact=self.kind == "compact")
            d = self.maker(db_dict(size, polygons, tags))
            out = {k: d[k] for k in ("gt", "mask", "thresh_map", "thresh_mask")}
        h, w = size
        out["image"] = np.zeros((3, h, w), np.float32)
        return {k: torch.from_numpy(v) for k, v in out.items()}


def dataloader(quick):
    say("\n## 3. torch DataLoader, 2 workers, batch 8, targets + collate (testdata/dbnet, 640x640)")
    try:
        import torch
        from torch.utils.data import DataLoader
    except ImportError:
        say("- skipped: torch is not installed")
        return
    torch.set_num_threads(1)
    data = samples(ROOT / "testdata" / "dbnet" / "gt")
    epochs = 2 if quick else 3
    say("| targets | images/s | vs reference | MB per batch |\n|---|---:|---:|---:|")
    base = None
    for kind in ("reference", "ocrperf", "compact"):
        loader = DataLoader(TargetsDataset(data, kind), batch_size=8, num_workers=2, persistent_workers=True)
        for _ in loader:  # start the workers (and fill ocrperf's caches: a second epoch is warm)
            pass
        images, batch_bytes, start = 0, 0, time.perf_counter()
        for _ in range(epochs):
            for batch in loader:
                images += batch["image"].shape[0]
                batch_bytes = sum(t.numel() * t.element_size() for t in batch.values())
        rate = images / (time.perf_counter() - start)
        base = base or rate
        RESULTS[f"dataloader_{kind}"] = {"value": rate}
        say(f"| {kind} | {rate:.1f} | {rate / base:.1f}x | {batch_bytes / 1e6:.1f} |")
        del loader
        gc.collect()  # end the persistent workers before the next measurement
    say("(ocrperf: DBTargets, its cache warm after the first epoch with persistent_workers=True;"
        " compact: the 0/1 maps as uint8)")


# ------------------------------------------------------------------------------- threads
def threads(quick):
    say("\n## 4. Two Python threads calling DBTargets (no cache)")
    data = [db_dict(*s) for s in samples(ROOT / "testdata" / "dbnet" / "gt")]
    rounds = 2 if quick else 5
    targets = DBTargets(cache_mb=0)

    def work():
        for _ in range(rounds):
            for d in data:
                targets(dict(d, polygons=[p.copy() for p in d["polygons"]]))

    def timed(n_threads):
        pool = [threading.Thread(target=work) for _ in range(n_threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return time.perf_counter() - start

    def native_rate(n_threads):
        """The Rust engine alone (`ocrperf targets bench`, no Python), images/s."""
        import subprocess

        out = subprocess.run([sys.executable, "-m", "ocrperf", "targets", "bench", "--gt",
                              str(ROOT / "testdata" / "dbnet" / "gt"), "--no-cache", "--epochs", "3", "--threads",
                              str(n_threads), "--format", "json", "-q"], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)["images_per_s"]

    pairs, native = [], []
    for _ in range(3 if quick else 7):  # interleaved: a load change hits both sides of a pair
        pairs.append((timed(1), timed(2)))
        native.append(native_rate(2) / native_rate(1))
    scalings = [2 * one / two for one, two in pairs]
    scaling = statistics.median(scalings)
    one, two = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    say(f"- 1 thread {one:.2f} s, 2 threads (twice the work) {two:.2f} s: {scaling:.2f}x "
        f"({min(scalings):.2f}-{max(scalings):.2f}, median of {len(pairs)} interleaved pairs) on {os.cpu_count()} CPUs: "
        f"{check('thread_scaling', scaling, 1.8)}")
    ceiling = statistics.median(native)
    RESULTS["thread_scaling_native"] = {"value": ceiling}
    say(f"- the Rust engine alone, 2 threads against 1 (`ocrperf targets bench --threads`, no Python): "
        f"{ceiling:.2f}x ({min(native):.2f}-{max(native):.2f}): the machine's ceiling for this work; "
        f"Python reaches {scaling / ceiling * 100:.0f}% of it")


# ----------------------------------------------------------------------------------- RSS
def rss_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def rss(quick):
    calls = 10_000 if quick else 100_000
    say(f"\n## 5. RSS over {calls:,} calls (DBTargets warm, 30 ground-truth files in turn)")
    data = [db_dict(*s) for s in samples(ROOT / "testdata" / "dbnet-hard" / "gt")]
    targets = DBTargets()
    warmup = calls // 10
    for i in range(warmup):
        d = data[i % len(data)]
        targets(dict(d, polygons=[p.copy() for p in d["polygons"]]))
    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    for i in range(calls - warmup):
        d = data[i % len(data)]
        targets(dict(d, polygons=[p.copy() for p in d["polygons"]]))
    gc.collect()
    after = rss_bytes()
    growth = (after - before) / before
    say(f"- after {warmup:,} calls {before / 2**20:.1f} MiB, after {calls:,} {after / 2**20:.1f} MiB "
        f"({growth * 100:+.2f}%; {(time.perf_counter() - start) / (calls - warmup) * 1e3:.3f} ms per call): "
        f"{check('rss_growth', abs(growth), 0.05, higher=False)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and repeats (a smoke run)")
    parser.add_argument("--paddleocr", help="directory with PaddleOCR's make_border_map.py and make_shrink_map.py")
    parser.add_argument("--only", nargs="*", choices=["parity", "speed", "dataloader", "threads", "rss"])
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    sections = {"parity": lambda: parity(args.paddleocr), "speed": lambda: speed(args.quick, args.paddleocr),
                "dataloader": lambda: dataloader(args.quick), "threads": lambda: threads(args.quick),
                "rss": lambda: rss(args.quick)}
    for name in args.only or sections:
        sections[name]()
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(RESULTS, indent=1) + "\n")
    missed = [name for name, r in RESULTS.items() if r.get("met") is False]
    say(f"\ntargets missed: {', '.join(missed) if missed else 'none'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
