"""The callback inside a real Lightning `Trainer` (CPU), end to end with `ocrperf throughput`.

Skipped where Lightning and torch are not installed (CI installs neither: torch is gigabytes);
run it with `pip install lightning` and `python3 -m pytest integrations`. The DDP test starts two
CPU processes (gloo) through Lightning's launcher, in a subprocess of its own.
"""

import json
import pathlib
import subprocess
import sys
import time

import pytest

L = pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader, Dataset  # noqa: E402

from ocrperf_callback import OcrperfThroughput  # noqa: E402

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


def train(path, sample_delay, step_s):
    """Two epochs, validation (3 batches of 60 ms) in the middle and at the end of each."""
    trainer = L.Trainer(
        max_epochs=2, limit_train_batches=BATCHES_PER_EPOCH, limit_val_batches=3,
        val_check_interval=BATCHES_PER_EPOCH // 2, num_sanity_val_steps=0, accelerator="cpu",
        callbacks=[OcrperfThroughput(path)], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )
    train_data = DataLoader(Samples(BATCHES_PER_EPOCH * BATCH_SIZE, sample_delay), batch_size=BATCH_SIZE)
    trainer.fit(TinyModel(step_s, val_s=0.06), train_data, DataLoader(Samples(12, 0.0), batch_size=BATCH_SIZE))
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_slow_dataset_is_input_bound(tmp_path, throughput_report):
    path = tmp_path / "slow_data.jsonl"
    # 4 samples × 10 ms of loading per batch, ~2 ms of training step.
    events = train(path, sample_delay=0.01, step_s=0.002)
    assert [e["step"] for e in events] == list(range(2 * BATCHES_PER_EPOCH))
    assert all(e["batch_size"] == BATCH_SIZE for e in events)
    assert all(0.035 < e["data_wait_s"] < 0.15 for e in events), [e["data_wait_s"] for e in events]
    report = throughput_report(path)
    assert (report["batches"], report["samples"]) == (2 * BATCHES_PER_EPOCH, 2 * BATCHES_PER_EPOCH * BATCH_SIZE)
    assert report["data_wait_fraction"] > 0.6
    assert report["bottleneck"] == "input-bound"


def test_a_slow_step_is_compute_bound_and_validation_is_not_data_wait(tmp_path, throughput_report):
    path = tmp_path / "slow_step.jsonl"
    events = train(path, sample_delay=0.0, step_s=0.03)
    assert len(events) == 2 * BATCHES_PER_EPOCH
    # Each validation run takes 180 ms; none of it may show up as a batch's data wait.
    assert max(e["data_wait_s"] for e in events) < 0.05, [e["data_wait_s"] for e in events]
    assert all(e["compute_s"] >= 0.03 for e in events)
    report = throughput_report(path)
    assert report["data_wait_fraction"] < 0.05
    assert report["bottleneck"] == "compute-bound"


DDP_SCRIPT = """
import sys
sys.path[:0] = [{here!r}]
import lightning as L
from torch.utils.data import DataLoader
from ocrperf_callback import OcrperfThroughput
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
        result = subprocess.run([sys.executable, str(script), str(tmp_path / template)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    # 10 batches per rank (Lightning's DistributedSampler splits the 80 samples).
    for name in ["per_rank.0.jsonl", "per_rank.1.jsonl", "shared.jsonl"]:
        events = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        assert [e["step"] for e in events] == list(range(10)), name
    assert not (tmp_path / "per_rank.2.jsonl").exists()
