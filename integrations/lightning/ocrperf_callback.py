"""Per-batch timing events for `ocrperf throughput`, from a Lightning training run.

    from ocrperf_callback import OcrperfThroughput
    trainer = L.Trainer(callbacks=[OcrperfThroughput("batches.jsonl", sync_cuda=True)])
    ...
    $ ocrperf throughput batches.jsonl

Each training batch becomes one JSON line (the `BatchEvent` schema of `metrics-schema`):
`{"step", "batch_size", "data_wait_s", "compute_s", "t_start"[, "gpu_mem_bytes"]}`.

- data wait: from the end of the previous batch (`on_train_batch_end`) to this batch's
  `on_train_batch_start`, i.e. the time Lightning spent fetching the batch from the DataLoader.
  The clock restarts at the start of each training epoch and after each validation run, so
  validation and epoch-end work (checkpoints, logging) never count as data wait; creating the
  epoch's DataLoader iterator (starting its workers) does;
- compute: from `on_train_batch_start` to `on_train_batch_end` (forward, backward, optimizer).
  CUDA work is asynchronous, so with `sync_cuda=True` the callback calls
  `torch.cuda.synchronize()` before reading the clock at the end of a batch; without it,
  compute time is host time and the GPU's backlog shows up as data wait of a later batch.

Lines are written whole and flushed every `flush_every` batches, so a crash loses at most
those. With several processes (DDP), only global rank 0 writes, unless `path` contains
`{rank}`: then each rank writes its own file (`batches.{rank}.jsonl` → `batches.0.jsonl`,
`batches.1.jsonl`, ...), so that a slow rank shows. It depends on Lightning only (and on torch only when `sync_cuda` or memory reporting
is on, which Lightning already has).
"""

import json
import os
import time

try:  # Lightning 2.x
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - the older package name, or no Lightning at all
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        Callback = object


def _leading_dimension(batch):
    """The first dimension of the first tensor-like leaf (anything with a `.shape`), or None."""
    if hasattr(batch, "shape") and len(batch.shape) > 0:
        return int(batch.shape[0])
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else ()
    for value in values:
        size = _leading_dimension(value)
        if size is not None:
            return size
    return None


def _batch_size(batch):
    """Samples in a batch: a tensor leaf's first dimension, else the length of the batch."""
    size = _leading_dimension(batch)
    if size is not None:
        return size
    try:
        return len(batch)
    except TypeError:
        return 0


class OcrperfThroughput(Callback):
    """Writes one `BatchEvent` line per training batch to `path`."""

    def __init__(self, path, sync_cuda=False, record_gpu_memory=True, flush_every=1, clock=time.perf_counter,
                 wall_clock=time.time, batch_size_fn=None):
        super().__init__()
        self._template = os.fspath(path)
        self.path = self._template.replace("{rank}", "0")
        self._enabled = True
        self.sync_cuda = sync_cuda
        self.record_gpu_memory = record_gpu_memory
        self.flush_every = max(1, int(flush_every))
        self.clock = clock
        self.wall_clock = wall_clock
        self.batch_size_fn = batch_size_fn or _batch_size
        self._file = None
        self._last_end = None
        self._start = None
        self._start_wall = None
        self._step = 0
        self._pending = 0

    # Lightning hooks -------------------------------------------------------------------------

    def on_train_start(self, trainer, pl_module):
        rank = int(getattr(trainer, "global_rank", 0) or 0)
        self.path = self._template.replace("{rank}", str(rank))
        # Several ranks appending to one file would interleave their lines.
        self._enabled = rank == 0 or "{rank}" in self._template
        if self._enabled and self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._last_end = self.clock()

    def on_train_epoch_start(self, trainer, pl_module):
        self._last_end = self.clock()

    def on_validation_end(self, trainer, pl_module):
        self._last_end = self.clock()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if not self._enabled:
            return
        now = self.clock()
        if self._last_end is None:
            self._last_end = now
        self._wait = now - self._last_end
        self._start = now
        self._start_wall = self.wall_clock()
        # Lightning counts optimizer steps and increments after this batch's step.
        self._step = int(getattr(trainer, "global_step", batch_idx))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self._start is None:
            return
        if self.sync_cuda:
            self._synchronize()
        now = self.clock()
        event = {
            "step": self._step,
            "batch_size": int(self.batch_size_fn(batch)),
            "data_wait_s": round(max(0.0, self._wait), 9),
            "compute_s": round(max(0.0, now - self._start), 9),
            "t_start": round(self._start_wall, 6),
        }
        memory = self._gpu_memory() if self.record_gpu_memory else None
        if memory is not None:
            event["gpu_mem_bytes"] = memory
        self._write(json.dumps(event, separators=(",", ":")) + "\n")
        self._start = None
        self._last_end = self.clock()

    def on_train_end(self, trainer, pl_module):
        self.close()

    def on_exception(self, trainer, pl_module, exception):
        self.close()

    # Helpers ----------------------------------------------------------------------------------

    def close(self):
        if self._file is not None:
            self._file.flush()
            self._file.close()
            self._file = None

    def _write(self, line):
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(line)
        self._pending += 1
        if self._pending >= self.flush_every:
            self._file.flush()
            self._pending = 0

    @staticmethod
    def _synchronize():
        try:
            import torch
        except ImportError:
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    @staticmethod
    def _gpu_memory():
        try:
            import torch
        except ImportError:
            return None
        if not torch.cuda.is_available():
            return None
        return int(torch.cuda.memory_allocated())
