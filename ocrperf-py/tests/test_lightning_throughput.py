"""The Throughput callback against a duck-typed trainer (no torch, no Lightning needed), end to
end with the package's own `ocrperf throughput`."""

import pytest

from conftest import batch_events
from ocrperf.lightning import OcrperfThroughput, Throughput, _batch_size


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class FakeTrainer:
    def __init__(self):
        self.global_step = 0


class Batch:
    """A tensor-like batch: only `.shape` is read."""

    def __init__(self, size):
        self.shape = (size, 3, 640, 640)


def run_fake_training(path, waits, computes, size=8, sizes=None):
    clock = FakeClock()
    callback = OcrperfThroughput(path, clock=clock, wall_clock=lambda: 1.7e9, record_gpu_memory=False)
    trainer = FakeTrainer()
    callback.on_train_start(trainer, None)
    for index, (wait, compute) in enumerate(zip(waits, computes)):
        batch = Batch(sizes[index] if sizes else size)
        clock.advance(wait)
        callback.on_train_batch_start(trainer, None, batch, index)
        clock.advance(compute)
        callback.on_train_batch_end(trainer, None, {"loss": 1.0}, batch, index)
        trainer.global_step += 1
    callback.on_train_end(trainer, None)


def test_events_measure_wait_and_compute(tmp_path):
    path = tmp_path / "batches.jsonl"
    run_fake_training(path, waits=[0.5, 0.01, 0.02], computes=[0.1, 0.1, 0.2])
    events = batch_events(path)
    assert [e["step"] for e in events] == [0, 1, 2]
    assert [e["batch_size"] for e in events] == [8, 8, 8]
    assert [round(e["data_wait_s"], 6) for e in events] == [0.5, 0.01, 0.02]
    assert [round(e["compute_s"], 6) for e in events] == [0.1, 0.1, 0.2]
    assert all(e["t_start"] == 1.7e9 for e in events)


def test_validation_and_epoch_ends_are_not_data_wait(tmp_path):
    path = tmp_path / "batches.jsonl"
    clock = FakeClock()
    callback = OcrperfThroughput(path, clock=clock, record_gpu_memory=False)
    trainer = FakeTrainer()
    callback.on_train_start(trainer, None)

    def batch(wait):
        clock.advance(wait)
        callback.on_train_batch_start(trainer, None, Batch(2), trainer.global_step)
        clock.advance(0.1)
        callback.on_train_batch_end(trainer, None, None, Batch(2), trainer.global_step)
        trainer.global_step += 1

    batch(0.01)
    clock.advance(5.0)  # a validation run
    callback.on_validation_end(trainer, None)
    batch(0.02)
    clock.advance(7.0)  # epoch end: checkpoint, logging
    callback.on_train_epoch_start(trainer, None)
    batch(0.03)
    callback.on_train_end(trainer, None)
    events = batch_events(path)
    assert [round(e["data_wait_s"], 6) for e in events] == [0.01, 0.02, 0.03]
    assert [e["step"] for e in events] == [0, 1, 2]


def run_as_rank(template, rank):
    trainer = FakeTrainer()
    trainer.global_rank = rank
    callback = OcrperfThroughput(template, record_gpu_memory=False)
    callback.on_train_start(trainer, None)
    callback.on_train_batch_start(trainer, None, Batch(2), 0)
    callback.on_train_batch_end(trainer, None, None, Batch(2), 0)
    callback.on_train_end(trainer, None)


def test_only_rank_zero_writes_unless_the_path_names_the_rank(tmp_path):
    for rank in range(3):
        run_as_rank(tmp_path / "shared.jsonl", rank)
        run_as_rank(str(tmp_path / "per_rank.{rank}.jsonl"), rank)
    assert len(batch_events(tmp_path / "shared.jsonl")) == 1
    files = sorted(p.name for p in tmp_path.glob("per_rank.*.jsonl"))
    assert files == ["per_rank.0.jsonl", "per_rank.1.jsonl", "per_rank.2.jsonl"]
    assert all(len(batch_events(tmp_path / name)) == 1 for name in files)


def test_batch_size_of_common_batch_shapes():
    assert _batch_size(Batch(4)) == 4
    assert _batch_size({"image": Batch(6), "gt": Batch(6)}) == 6
    assert _batch_size((Batch(3), [1, 2, 3])) == 3
    assert _batch_size([[1], [2]]) == 2


def test_ocrperf_reads_the_callbacks_events(tmp_path, throughput_report):
    path = tmp_path / "batches.jsonl"
    # 20 batches: 30 ms wait, 70 ms compute: input-bound (wait 30% ≥ 20%), 80 samples/s.
    run_fake_training(path, waits=[0.03] * 20, computes=[0.07] * 20)
    report = throughput_report(path)
    assert report["schema"] == "ocrperf.throughput.v1"
    assert report["batches"] == 20 and report["samples"] == 160
    assert abs(report["samples_per_s"] - 80.0) < 0.01
    assert abs(report["data_wait_fraction"] - 0.3) < 1e-6
    assert report["bottleneck"] == "input-bound"


def test_the_old_name_is_the_same_class():
    assert OcrperfThroughput is Throughput


def test_the_old_import_path_still_works(monkeypatch):
    """The one test that needs a folder of the repository besides `testdata/`: the shim of the
    old import path, `integrations/lightning/ocrperf_callback.py`, is what it checks."""
    import pathlib
    import sys

    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parents[2] / "integrations" / "lightning"))
    sys.modules.pop("ocrperf_callback", None)
    import ocrperf_callback

    assert ocrperf_callback.OcrperfThroughput is Throughput


def test_flush_every_is_refused_not_clamped(tmp_path):
    # Rust's writer refuses 0 when it opens, at the start of training; Python keeps it as given.
    callback = Throughput(tmp_path / "batches.jsonl", flush_every=0)
    assert callback.flush_every == 0
    with pytest.raises(ValueError, match=r"flush_every must be at least 1"):
        callback.on_train_start(FakeTrainer(), None)
    assert not (tmp_path / "batches.jsonl").exists()


def test_the_file_is_written_by_rusts_one_writer(tmp_path):
    from ocrperf import _native

    path = tmp_path / "events.jsonl"
    writer = _native.BatchEventWriter(path)
    writer.write(step=0, batch_size=4, data_wait_s=0.5, compute_s=0.25, t_start=1.7e9)
    # The readers' one check refuses what no reader would accept, before anything is written.
    with pytest.raises(ValueError, match=r"step 1: `batch_size` is 0"):
        writer.write(step=1, batch_size=0, data_wait_s=0.5, compute_s=0.25)
    with pytest.raises(ValueError, match=r"step 2: `compute_s` is 7200 s, beyond the limit"):
        writer.write(step=2, batch_size=4, data_wait_s=0.0, compute_s=7200.0)
    writer.close()
    # A second writer continues the file: one header, the events of both.
    again = _native.BatchEventWriter(path, flush_every=10)
    again.write(step=3, batch_size=4, data_wait_s=0.1, compute_s=0.2, gpu_mem_bytes=1 << 30)
    again.close()
    events = batch_events(path)
    assert [e["step"] for e in events] == [0, 3]
    assert events[1]["gpu_mem_bytes"] == 1 << 30 and "t_start" not in events[1]


def test_a_batch_no_reader_would_accept_is_left_out_with_one_warning(tmp_path):
    path = tmp_path / "batches.jsonl"
    with pytest.warns(UserWarning, match=r"`batch_size` is 0; .* such batches are left out"):
        run_fake_training(path, waits=[0.5, 0.01, 0.02], computes=[0.1, 0.1, 0.2], sizes=[8, 0, 0])
    assert [e["step"] for e in batch_events(path)] == [0]
