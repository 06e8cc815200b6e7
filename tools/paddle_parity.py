#!/usr/bin/env python3
"""Parity of ``ocrperf.dbnet.paddle`` with PaddleOCR's own ``MakeBorderMap`` and ``MakeShrinkMap``.

PaddleOCR's code is not in this repository. Point ``--paddleocr`` at a directory holding its
``make_border_map.py`` and ``make_shrink_map.py`` (from ``ppocr/data/imaug/`` of a PaddleOCR
checkout; they need numpy, opencv-python-headless, pyclipper and shapely) to record digests;
only the digests are committed, and the tests compare ocrperf with them.

    paddle_parity.py awkward --out testdata/paddle-awkward/gt --images 24 --seed 7
    paddle_parity.py record --paddleocr DIR --gt testdata/dbnet/gt ... --out testdata/paddle/digests.json
    paddle_parity.py check --digests testdata/paddle/digests.json --gt testdata/dbnet/gt ...

Each image runs PaddleOCR's order, border map then shrink map, on DetLabelEncode's float32
(N, P_max, 2) polygons padded by repeating the last point, for three ratio schedules (none;
epoch 3 of 10, ratio 0.46; epoch 5 of 10, ratio 0.5, a single rung). A digest covers the four
maps and the in-place edits (the polygons and ignore tags after the shrink step).
"""

import argparse
import importlib.util
import json
import math
import pathlib
import random
import sys

import numpy as np

# The one ground-truth reader, kept with the Python package's tests.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "ocrperf-py" / "tests"))
from gt_samples import paddle_digest, paddle_sample  # noqa: E402

SCHEDULES = {"plain": {}, "epoch3of10": {"epoch": 3, "total_epoch": 10}, "epoch5of10": {"epoch": 5, "total_epoch": 10}}


sample = paddle_sample
digest = paddle_digest


def run(border_cls, shrink_cls, files):
    out = {}
    for name, kwargs in SCHEDULES.items():
        border, shrink = border_cls(**kwargs), shrink_cls(**kwargs)
        for path in files:
            try:
                result = digest(shrink(border(sample(path))))
            except (ValueError, IndexError):
                # The reference's own failures (an empty dilation, a patch it cannot place);
                # ocrperf raises ValueError there.
                result = {"error": True}
            out.setdefault(key(path), {})[name] = result
    return out


def key(path):
    """A file's name in the digests: its data set (the folder above `gt/`) and its name."""
    return f"{path.parent.parent.name}/{path.name}"


def load_paddleocr(directory):
    classes = []
    for module, cls in (("make_border_map", "MakeBorderMap"), ("make_shrink_map", "MakeShrinkMap")):
        spec = importlib.util.spec_from_file_location(f"paddleocr_{module}", pathlib.Path(directory) / f"{module}.py")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        classes.append(getattr(loaded, cls))
    return classes


def files_of(dirs):
    return sorted(path for d in dirs for path in pathlib.Path(d).glob("*.txt"))


# ------------------------------------------------------------------------------- awkward inputs
def awkward_polygons(rng, width, height):
    """Polygons that take PaddleOCR's other paths: splits, retries, padding, edges, degeneracy."""
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    kind = rng.choice(["dumbbell", "u", "curve", "outside", "tiny", "flat", "bowtie", "thin", "box"])
    s = rng.uniform(20, 90)
    if kind == "dumbbell":  # two blobs joined by a neck: the 0.4 shrink splits it
        neck = rng.uniform(2, 6)
        pts = [(-s, -s / 2), (-s / 4, -s / 2), (-s / 4, -neck), (s / 4, -neck), (s / 4, -s / 2), (s, -s / 2),
               (s, s / 2), (s / 4, s / 2), (s / 4, neck), (-s / 4, neck), (-s / 4, s / 2), (-s, s / 2)]
    elif kind == "u":
        t = rng.uniform(6, 14)
        pts = [(-s, -s), (-s + t, -s), (-s + t, s - t), (s - t, s - t), (s - t, -s), (s, -s), (s, s), (-s, s)]
    elif kind == "curve":  # a curved band with many points, as TotalText/CTW label it
        n = rng.randint(5, 9)
        r0, r1 = s, s + rng.uniform(10, 30)
        a0, a1 = rng.uniform(0, math.pi), rng.uniform(0, math.pi) + 1.0
        outer = [(r1 * math.cos(a0 + (a1 - a0) * i / (n - 1)), r1 * math.sin(a0 + (a1 - a0) * i / (n - 1))) for i in range(n)]
        inner = [(r0 * math.cos(a0 + (a1 - a0) * i / (n - 1)), r0 * math.sin(a0 + (a1 - a0) * i / (n - 1))) for i in reversed(range(n))]
        pts = outer + inner
    elif kind == "outside":
        # Partly outside: PaddleOCR's border map fails on a polygon wholly outside the image.
        cx, cy = rng.choice([s / 3, width - s / 2]), rng.uniform(0, height)
        pts = [(-s, -s / 3), (s, -s / 3), (s, s / 3), (-s, s / 3)]
    elif kind == "tiny":
        t = rng.uniform(2, 7.9)
        pts = [(0, 0), (s, 0), (s, t), (0, t)]
    elif kind == "flat":  # zero area: PaddleOCR's border map skips it
        pts = [(0, 0), (s / 2, 0), (s, 0)]
    elif kind == "bowtie":
        pts = [(-s, -s / 2), (s, s / 2), (s, -s / 2), (-s, s / 2)]
    elif kind == "thin":
        t = rng.uniform(8, 10)
        pts = [(0, 0), (s * 2, 0), (s * 2, t), (0, t)]
    else:
        pts = [(-s, -s / 3), (s, -s / 3), (s, s / 3), (-s, s / 3)]
    angle = rng.uniform(-0.6, 0.6)
    ca, sa = math.cos(angle), math.sin(angle)
    rotated = [(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in pts]
    if rng.random() < 0.5:
        rotated.reverse()
    return [(round(x, 2), round(y, 2)) for x, y in rotated]


def write_awkward(out, images, seed):
    rng = random.Random(seed)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for index in range(images):
        width, height = rng.choice([(640, 640), (320, 480), (800, 600)])
        lines = [f"# size {width} {height}"]
        for _ in range(rng.randint(3, 12)):
            pts = awkward_polygons(rng, width, height)
            label = "###" if rng.random() < 0.1 else "text"
            lines.append(",".join(f"{v:.2f}" for p in pts for v in p) + "," + label)
        (out / f"awk_{index:04d}.txt").write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    awkward = sub.add_parser("awkward", help="write awkward ground truth")
    awkward.add_argument("--out", required=True)
    awkward.add_argument("--images", type=int, default=24)
    awkward.add_argument("--seed", type=int, default=7)
    record = sub.add_parser("record", help="digests from PaddleOCR's classes")
    record.add_argument("--paddleocr", required=True, help="directory with make_border_map.py and make_shrink_map.py")
    record.add_argument("--gt", nargs="+", required=True)
    record.add_argument("--out", required=True)
    check = sub.add_parser("check", help="ocrperf against recorded digests")
    check.add_argument("--digests", required=True)
    check.add_argument("--gt", nargs="+", required=True)
    args = parser.parse_args()
    if args.command == "awkward":
        write_awkward(args.out, args.images, args.seed)
        return 0
    files = files_of(args.gt)
    if args.command == "record":
        border, shrink = load_paddleocr(args.paddleocr)
        digests = run(border, shrink, files)
        document = {"format": "sha256 of float32 maps (H, W), of polys (float32) and ignore_tags (bool) after "
                              "MakeBorderMap then MakeShrinkMap", "schedules": SCHEDULES, "files": digests}
        pathlib.Path(args.out).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(digests)} files x {len(SCHEDULES)} schedules -> {args.out}")
        return 0
    from ocrperf.dbnet.paddle import MakeBorderMap, MakeShrinkMap
    expected = json.loads(pathlib.Path(args.digests).read_text())["files"]
    got = run(MakeBorderMap, MakeShrinkMap, files)
    same = sum(got[name][s] == expected[name][s] for name in got for s in SCHEDULES)
    total = len(got) * len(SCHEDULES)
    print(f"identical: {same}/{total}")
    for name in got:
        for s in SCHEDULES:
            if got[name][s] != expected[name][s]:
                bad = [k for k in got[name][s] if got[name][s][k] != expected[name][s][k]]
                print(f"  {name} {s}: {', '.join(bad)} differ")
    return 0 if same == total else 1


if __name__ == "__main__":
    sys.exit(main())
