"""The callbacks inside a real Lightning `Trainer` (CPU), with a real CSVLogger.

Skipped where Lightning and torch are not installed, and failing instead with
OCRPERF_REQUIRE_LIGHTNING=1, which `cargo xtask ci` sets after installing them (the `ci` extra);
by hand: `pip install 'ocrperf[ci]'` (or lightning alone) and `python3 -m pytest ocrperf-py/tests`.
The DDP tests start two CPU processes (gloo) through Lightning's launcher, in a subprocess of
their own.
"""

import csv
import json
import pathlib
import statistics
import subprocess
import sys
import time

import pytest

from conftest import batch_events, require

L = require("lightning")
torch = require("torch")

from torch.utils.data import DataLoader, Dataset  # noqa: E402

from ocrperf.lightning import OcrperfThroughput  # noqa: E402

BATCHES_PER_EPOCH = 12
BATCH_SIZE = 4


class Samples(Dataset):
    """Random samples that take `delay` seconds each to load."""

    def __init__(self, count, delay):
        self.count, self.delay = count, delay

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        time.sleep(self.delay)
        return torch.randn(8), torch.randn(1)


class TinyModel(L.LightningModule):
    """A linear model whose training step takes `step_s` and validation step `val_s`."""

    def __init__(self, step_s, val_s):
        super().__init__()
        self.net = torch.nn.Linear(8, 1)
        self.step_s, self.val_s = step_s, val_s

    def training_step(self, batch, batch_idx):
        time.sleep(self.step_s)
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, batch_idx):
        time.sleep(self.val_s)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def train(path, sample_delay, step_s, val_s=0.06):
    """Two epochs, validation (3 batches of `val_s`) in the middle and at the end of each."""
    trainer = L.Trainer(
        max_epochs=2,
        limit_train_batches=BATCHES_PER_EPOCH,
        limit_val_batches=3,
        val_check_interval=BATCHES_PER_EPOCH // 2,
        num_sanity_val_steps=0,
        accelerator="cpu",
        callbacks=[OcrperfThroughput(path)],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    train_data = DataLoader(Samples(BATCHES_PER_EPOCH * BATCH_SIZE, sample_delay), batch_size=BATCH_SIZE)
    trainer.fit(TinyModel(step_s, val_s=val_s), train_data, DataLoader(Samples(12, 0.0), batch_size=BATCH_SIZE))
    return batch_events(path)


def test_a_slow_dataset_is_input_bound(tmp_path, throughput_report):
    path = tmp_path / "slow_data.jsonl"
    # 4 samples × 10 ms of loading per batch, ~2 ms of training step.
    events = train(path, sample_delay=0.01, step_s=0.002)
    assert [e["step"] for e in events] == list(range(2 * BATCHES_PER_EPOCH))
    assert all(e["batch_size"] == BATCH_SIZE for e in events)
    # Loading sleeps 40 ms a batch, so no wait is shorter than that (a busy machine only makes
    # sleeps longer); how long waits run is judged by the median, so that one scheduler hiccup
    # on a busy 2-core machine cannot fail the test.
    waits = [e["data_wait_s"] for e in events]
    assert min(waits) > 0.035, waits
    assert 0.035 < statistics.median(waits) < 0.15, waits
    report = throughput_report(path)
    assert (report["batches"], report["samples"]) == (2 * BATCHES_PER_EPOCH, 2 * BATCHES_PER_EPOCH * BATCH_SIZE)
    assert report["data_wait_fraction"] > 0.6
    assert report["bottleneck"] == "input-bound"


def test_a_slow_step_is_compute_bound_and_validation_is_not_data_wait(tmp_path, throughput_report):
    """Judged by what the steps did, with margins a busy machine cannot close: each training
    step sleeps 200 ms and loading a batch does nothing, so compute-bound (data wait at most 5%)
    holds unless fetching 4 in-memory samples stalls for 10 ms per batch on average; each
    validation run sleeps at least 300 ms, so one counted as data wait shows as a wait of 300 ms
    or more, twice the 150 ms allowed."""
    path = tmp_path / "slow_step.jsonl"
    step_s, validation_s = 0.2, 3 * 0.1
    events = train(path, sample_delay=0.0, step_s=step_s, val_s=validation_s / 3)
    assert len(events) == 2 * BATCHES_PER_EPOCH
    assert all(e["compute_s"] >= step_s for e in events), [e["compute_s"] for e in events]
    waits = [e["data_wait_s"] for e in events]
    assert max(waits) < validation_s / 2, waits
    report = throughput_report(path)
    assert report["data_wait_fraction"] < 0.05, waits
    assert report["bottleneck"] == "compute-bound"


DDP_SCRIPT = """
import sys
sys.path[:0] = [{here!r}]
import lightning as L
from torch.utils.data import DataLoader
from ocrperf.lightning import OcrperfThroughput
from test_with_lightning import Samples, TinyModel

if __name__ == "__main__":
    trainer = L.Trainer(
        max_epochs=1, limit_train_batches=10, limit_val_batches=0, accelerator="cpu", devices=2,
        strategy="ddp", callbacks=[OcrperfThroughput(sys.argv[1])], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )
    trainer.fit(TinyModel(0.005, 0.0), DataLoader(Samples(80, 0.001), batch_size=4))
"""


def test_two_ddp_ranks_on_the_cpu_write_one_file_each_or_only_rank_zero(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP_SCRIPT.format(here=str(pathlib.Path(__file__).resolve().parent)))
    for template in ["per_rank.{rank}.jsonl", "shared.jsonl"]:
        result = subprocess.run(
            [sys.executable, str(script), str(tmp_path / template)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
    # 10 batches per rank (Lightning's DistributedSampler splits the 80 samples).
    for name in ["per_rank.0.jsonl", "per_rank.1.jsonl", "shared.jsonl"]:
        events = batch_events(tmp_path / name)
        assert [e["step"] for e in events] == list(range(10)), name
    assert not (tmp_path / "per_rank.2.jsonl").exists()


def test_profiler_and_monitor_log_to_a_csv_logger(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    from ocrperf.lightning import Profiler, ResourceMonitor

    logger = CSVLogger(tmp_path, name="run")
    profiler = Profiler(steps="3..7")
    monitor = ResourceMonitor(interval_s=0.05, log_every_n_steps=4, gpu=False)
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=BATCHES_PER_EPOCH,
        limit_val_batches=0,
        accelerator="cpu",
        callbacks=[profiler, monitor],
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    # 4 samples x 15 ms of loading per batch against a ~2 ms step: the window is input-bound.
    trainer.fit(
        TinyModel(0.002, 0.0), DataLoader(Samples(BATCHES_PER_EPOCH * BATCH_SIZE, 0.015), batch_size=BATCH_SIZE)
    )

    window = pathlib.Path(logger.log_dir) / "ocrperf-profile" / "window1"
    assert (window / "rank0.pt.trace.json.gz").stat().st_size > 1000
    assert (window / "report.md").exists()
    [report] = profiler.reports
    assert report["steps"]["count"] == 4
    assert report["dataloader"]["fraction"] > 0.5, report["dataloader"]
    assert "dataloader-bound" in {r["id"] for r in report["recommendations"]}

    logger.finalize("success")
    rows = list(csv.DictReader(open(pathlib.Path(logger.log_dir) / "metrics.csv")))
    columns = set(rows[0])
    assert {
        "ocrperf/profile/trace.steps.mean_ms",
        "ocrperf/profile/trace.dataloader.fraction",
        "ocrperf/monitor/host.cpu_percent",
        "ocrperf/monitor/process.rss_bytes",
    } <= columns
    [profiled] = [r for r in rows if r["ocrperf/profile/trace.dataloader.fraction"]]
    assert float(profiled["ocrperf/profile/trace.dataloader.fraction"]) == pytest.approx(
        report["dataloader"]["fraction"]
    )
    monitored = [r for r in rows if r["ocrperf/monitor/host.cpu_percent"]]
    assert len(monitored) >= 3
    assert monitor.summary["samples"] >= 3


DDP_PROFILER_SCRIPT = """
import json, sys
sys.path[:0] = [{here!r}]
import lightning as L
from torch.utils.data import DataLoader
from ocrperf.lightning import Profiler
from test_with_lightning import Samples, TinyModel

if __name__ == "__main__":
    profiler = Profiler(steps="2..5", dirpath=sys.argv[1])
    trainer = L.Trainer(
        max_epochs=1, limit_train_batches=8, limit_val_batches=0, accelerator="cpu", devices=2,
        strategy="ddp", callbacks=[profiler], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )
    trainer.fit(TinyModel(0.005, 0.0), DataLoader(Samples(64, 0.001), batch_size=4))
"""


def test_the_profiler_writes_one_trace_per_ddp_rank_and_rank_zero_analyses_them(tmp_path):
    script = tmp_path / "ddp_profile.py"
    script.write_text(DDP_PROFILER_SCRIPT.format(here=str(pathlib.Path(__file__).resolve().parent)))
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "profile")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    window = tmp_path / "profile" / "window1"
    assert sorted(p.name for p in window.glob("rank*.pt.trace.json.gz")) == [
        "rank0.pt.trace.json.gz",
        "rank1.pt.trace.json.gz",
    ]
    report = json.loads((window / "report.json").read_text())
    assert [r["rank"] for r in report["ranks"]] == [0, 1]
    assert all(r["communication"]["backend"] == "gloo" for r in report["ranks"])
    assert all(r["steps"]["count"] == 3 for r in report["ranks"])


def test_the_readme_dataloader_example_runs():
    example = pathlib.Path(__file__).resolve().parents[1] / "examples" / "db_dataloader.py"
    result = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok: 4 batches of (16, 1, 640, 640)")
