"""Lightning callbacks: ``Throughput``, ``Profiler`` and ``ResourceMonitor``.

They depend on Lightning only (``lightning`` or ``pytorch_lightning``; ``Profiler`` also on
torch, which Lightning brings), and log through ``trainer.loggers``, so MLflow, W&B,
TensorBoard and CSV loggers all receive the figures::

    import lightning as L
    from ocrperf.lightning import Profiler, ResourceMonitor, Throughput

    trainer = L.Trainer(callbacks=[
        Throughput("batches.{rank}.jsonl"),            # per-batch events for `ocrperf throughput`
        Profiler(steps="10..15"),                       # a torch.profiler window, analysed in process
        ResourceMonitor(interval_s=1.0, log_every_n_steps=50),   # GPU/CPU/memory/disk, with alerts
    ])

Without Lightning installed the classes still import (they derive from ``object``) and work
with any trainer object that has the attributes they read, which is how they are tested.
"""

import fnmatch
import json
import os
import pathlib
import re
import time
import warnings
from typing import Any, Dict, List, Optional, Sequence, Union

try:  # Lightning 2.x
    from lightning.pytorch.callbacks import Callback
except ImportError:  # pragma: no cover - the older package name, or no Lightning at all
    try:
        from pytorch_lightning.callbacks import Callback
    except ImportError:
        Callback = object

from ocrperf import _native

__all__ = ["OcrperfThroughput", "Profiler", "ResourceAlert", "ResourceMonitor", "Throughput"]


def _rank(trainer: Any) -> int:
    return int(getattr(trainer, "global_rank", 0) or 0)


def _loggers(trainer: Any) -> List[Any]:
    """The trainer's loggers (``trainer.loggers``, else ``trainer.logger``), possibly none."""
    loggers = getattr(trainer, "loggers", None)
    if loggers:
        return list(loggers)
    logger = getattr(trainer, "logger", None)
    return [logger] if logger is not None else []


def _log(trainer: Any, metrics: Dict[str, float]) -> None:
    """Logs numbers to every logger of the trainer at its global step."""
    if not metrics:
        return
    step = int(getattr(trainer, "global_step", 0) or 0)
    for logger in _loggers(trainer):
        logger.log_metrics(metrics, step=step)


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


class Throughput(Callback):
    """Per-batch timing events for ``ocrperf throughput``: one ``BatchEvent`` JSON line per
    training batch, written to ``path``.

    ::

        trainer = L.Trainer(callbacks=[Throughput("batches.jsonl", sync_cuda=True)])
        ...
        $ ocrperf throughput batches.jsonl

    Each line is ``{"step", "batch_size", "data_wait_s", "compute_s", "t_start"[, "gpu_mem_bytes"]}``.

    - data wait: from the end of the previous batch (``on_train_batch_end``) to this batch's
      ``on_train_batch_start``: the time Lightning spent fetching the batch from the DataLoader.
      The clock restarts at the start of each training epoch and after each validation run, so
      validation and epoch-end work never count as data wait; starting the epoch's DataLoader
      workers does;
    - compute: from ``on_train_batch_start`` to ``on_train_batch_end``. CUDA work is
      asynchronous, so with ``sync_cuda=True`` the callback synchronizes before reading the
      clock at the end of a batch; without it, the GPU's backlog shows up as a later batch's wait.

    Lines are written whole and flushed every ``flush_every`` batches, so a crash loses at most
    those. With several processes (DDP) only global rank 0 writes, unless ``path`` contains
    ``{rank}``: then each rank writes its own file, so that a slow rank shows.
    """

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


#: The old name of :class:`Throughput` (``integrations/lightning/ocrperf_callback.py``).
OcrperfThroughput = Throughput


# ---------------------------------------------------------------------------------- Profiler
_STEPS = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


def parse_steps(steps: str) -> Dict[str, int]:
    """``"10..15"`` (training batches 10 to 14, the end excluded, as in Rust and ``range``) as
    the arguments of ``torch.profiler.schedule``: one warm-up batch before the window."""
    match = _STEPS.match(steps) if isinstance(steps, str) else None
    if match is None:
        raise ValueError(f"steps must look like '10..15' (first..end, end excluded), not {steps!r}")
    first, end = int(match.group(1)), int(match.group(2))
    if end <= first:
        raise ValueError(f"steps {steps!r} is empty: the end must come after the first step")
    warmup = 1 if first >= 1 else 0
    return {"skip_first": first - warmup, "wait": 0, "warmup": warmup, "active": end - first, "repeat": 1}


def _fraction_metrics(report: Dict[str, Any], prefix: str) -> Dict[str, float]:
    """The figures of an ``ocrperf.trace-analysis`` report worth a chart, flattened."""
    out: Dict[str, float] = {}
    steps = report.get("steps") or {}
    if steps.get("mean_ms") is not None:
        out[f"{prefix}/step_ms"] = float(steps["mean_ms"])
    dataloader = report.get("dataloader") or {}
    if dataloader.get("fraction") is not None:
        out[f"{prefix}/data_wait_fraction"] = float(dataloader["fraction"])
    gpu = report.get("gpu") or {}
    if gpu.get("busy_fraction") is not None:
        out[f"{prefix}/gpu_busy_fraction"] = float(gpu["busy_fraction"])
    communication = report.get("communication") or {}
    if communication.get("fraction") is not None:
        out[f"{prefix}/communication_fraction"] = float(communication["fraction"])
    recommendations = report.get("recommendations") or []
    out[f"{prefix}/recommendations"] = float(len(recommendations))
    for recommendation in recommendations:
        out[f"{prefix}/recommendation/{recommendation['id']}"] = 1.0
    return out


def analyze_traces(directory: Union[str, os.PathLike], *, prefix: str = "ocrperf/profile") -> Dict[str, Any]:
    """Runs ``ocrperf trace analyze`` on a window's traces in this process (the native module)
    and writes ``report.json`` and ``report.md`` beside them. Returns the JSON report, with the
    flattened figures under ``"metrics"``. Raises ``ValueError`` when the traces cannot be read."""
    directory = pathlib.Path(directory)
    # The traces by name: the reports written beside them are not traces.
    traces = sorted(str(p) for p in directory.glob("*.json*") if not p.name.startswith("report."))
    if not traces:
        raise ValueError(f"{directory}: no traces (*.json, *.json.gz) to analyse")
    outputs = {"json": directory / "report.json", "md": directory / "report.md"}
    for fmt, path in outputs.items():
        code = _native.cli_main(["ocrperf", "trace", "analyze", *traces, "--format", fmt, "-o", str(path), "-q",
                                 "--no-progress"])
        if code != 0:
            raise ValueError(f"ocrperf trace analyze {directory} failed (exit {code}); its error is above")
    report = json.loads(outputs["json"].read_text(encoding="utf-8"))
    report["metrics"] = _fraction_metrics(report, prefix)
    return report


class Profiler(Callback):
    """A ``torch.profiler`` window over chosen training batches, analysed when it closes.

    One argument sets the window: ``steps="10..15"`` (batches 10 to 14, after one warm-up
    batch), or ``schedule=dict(wait=1, warmup=1, active=3, repeat=1)`` as for
    ``torch.profiler.schedule``. Each rank writes its Chrome trace
    (``<dirpath>/window<k>/rank<r>.pt.trace.json.gz``); when a window closes, rank 0 runs
    ``ocrperf trace analyze`` on the window's traces in this process, writes ``report.md``
    and ``report.json`` beside them, logs the step time, the data-wait, GPU-busy and
    communication fractions and one ``recommendation/<id>`` per recommendation to the
    trainer's loggers, and prints the recommendations.

    ``dirpath`` defaults to ``<trainer.log_dir>/ocrperf-profile``. ``with_stack``,
    ``profile_memory`` and ``record_shapes`` are passed to ``torch.profiler.profile``.
    """

    def __init__(self, steps: Optional[str] = "10..15", *, schedule: Optional[Dict[str, int]] = None,
                 dirpath: Optional[Union[str, os.PathLike]] = None, with_stack: bool = False,
                 profile_memory: bool = False, record_shapes: bool = False, analyze: bool = True,
                 prefix: str = "ocrperf/profile"):
        super().__init__()
        if schedule is not None:
            unknown = set(schedule) - {"wait", "warmup", "active", "repeat", "skip_first"}
            if unknown:
                raise ValueError(f"schedule takes wait, warmup, active, repeat and skip_first, not {sorted(unknown)}")
            if int(schedule.get("active", 0)) < 1:
                raise ValueError("schedule needs active >= 1")
            self.schedule = {"wait": 0, "warmup": 0, "repeat": 1, **{k: int(v) for k, v in schedule.items()}}
        elif steps is not None:
            self.schedule = parse_steps(steps)
        else:
            raise ValueError("give steps='first..end' or schedule=dict(...)")
        self.dirpath = None if dirpath is None else pathlib.Path(dirpath)
        self.with_stack, self.profile_memory, self.record_shapes = with_stack, profile_memory, record_shapes
        self.analyze, self.prefix = analyze, prefix
        self.reports: List[Dict[str, Any]] = []
        self._profiler = None
        self._windows = 0
        self._closed: List[pathlib.Path] = []

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        import torch

        if self.dirpath is None:
            log_dir = getattr(trainer, "log_dir", None) or getattr(trainer, "default_root_dir", None) or "."
            self.dirpath = pathlib.Path(log_dir) / "ocrperf-profile"
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        rank = _rank(trainer)

        def on_trace_ready(profiler: Any) -> None:
            self._windows += 1
            window = self.dirpath / f"window{self._windows}"
            window.mkdir(parents=True, exist_ok=True)
            profiler.export_chrome_trace(str(window / f"rank{rank}.pt.trace.json.gz"))
            self._closed.append(window)

        self._profiler = torch.profiler.profile(
            activities=activities, schedule=torch.profiler.schedule(**self.schedule), on_trace_ready=on_trace_ready,
            with_stack=self.with_stack, profile_memory=self.profile_memory, record_shapes=self.record_shapes)
        self._profiler.start()

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._profiler is None:
            return
        self._profiler.step()
        self._after_windows(trainer)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self._profiler is not None:
            self._profiler.stop()
            self._profiler = None
            self._after_windows(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if self._profiler is not None:
            self._profiler.stop()
            self._profiler = None

    def _after_windows(self, trainer: Any) -> None:
        """Analyses the windows that closed: every rank has written its trace at the same step,
        so after a barrier rank 0 reads them all."""
        while self._closed:
            window = self._closed.pop(0)
            strategy = getattr(trainer, "strategy", None)
            if strategy is not None and hasattr(strategy, "barrier"):
                strategy.barrier("ocrperf-profiler")
            if self.analyze and _rank(trainer) == 0:
                self.analyze_window(trainer, window)

    def analyze_window(self, trainer: Any, window: Union[str, os.PathLike]) -> Optional[Dict[str, Any]]:
        """Analyses one window's traces, logs the figures and says the recommendations."""
        try:
            report = analyze_traces(window, prefix=self.prefix)
        except ValueError as err:
            warnings.warn(f"ocrperf: the profiler window in {window} could not be analysed: {err}")
            return None
        self.reports.append(report)
        _log(trainer, report["metrics"])
        for recommendation in report.get("recommendations") or []:
            print(f"ocrperf: [{recommendation['severity']}] {recommendation['id']}: {recommendation['title']}. "
                  f"{recommendation['suggestion']}")
        print(f"ocrperf: profiler report: {pathlib.Path(window) / 'report.md'}")
        return report


# --------------------------------------------------------------------------- ResourceMonitor
class ResourceAlert(UserWarning):
    """An alert of ocrperf's resource monitor (a GPU starved, memory nearly full, ...)."""


#: What ``ResourceMonitor`` logs unless told otherwise: the headline figures, not every disk,
#: network interface and clock.
DEFAULT_METRICS = (
    "host.cpu_percent", "host.cpu_min_core_percent", "host.memory_used_percent", "host.memory_used_bytes",
    "host.swap_used_bytes", "disk.*.busy_percent", "gpu.*.utilization_percent",
    "gpu.*.memory_utilization_percent", "gpu.*.memory_used_bytes", "gpu.*.temperature_c", "gpu.*.power_w",
    "process.cpu_percent", "process.rss_bytes",
)


class ResourceMonitor(Callback):
    """GPU (NVML), CPU, memory and disk figures in the trainer's loggers, with alerts.

    A native thread samples every ``interval_s`` seconds from the start of ``fit`` (no Python
    work per sample, no GIL). Every ``log_every_n_steps`` training batches the latest figures
    matching ``metrics`` (glob patterns, default :data:`DEFAULT_METRICS`) are logged as
    ``<prefix>/<metric>``, and alerts that fired since (the monitor's rules, or a TOML file's,
    ``rules=``) are raised as :class:`ResourceAlert` warnings. By default only global rank 0
    samples and logs; with ``per_rank=True`` every rank does, under ``<prefix>/rank<r>/``.
    ``out`` also writes the JSONL (or ``.csv``) sample file (``{rank}`` in it is replaced), and
    ``prometheus="127.0.0.1:9400"`` serves ``/metrics``. Without a GPU or NVIDIA's library the
    host is still sampled, and ``gpu_note`` says why GPUs are not.
    """

    def __init__(self, interval_s: float = 1.0, *, log_every_n_steps: int = 50, per_rank: bool = False,
                 metrics: Sequence[str] = DEFAULT_METRICS, out: Optional[Union[str, os.PathLike]] = None,
                 prometheus: Optional[str] = None, rules: Optional[Union[str, os.PathLike]] = None,
                 gpu: bool = True, prefix: str = "ocrperf/monitor"):
        super().__init__()
        if not (isinstance(log_every_n_steps, int) and log_every_n_steps >= 1):
            raise ValueError(f"log_every_n_steps must be a whole number >= 1, not {log_every_n_steps!r}")
        if not (0.01 <= float(interval_s) <= 86400):
            raise ValueError(f"interval_s must lie in 0.01..86400, not {interval_s}")
        if per_rank and out is not None and "{rank}" not in os.fspath(out):
            raise ValueError(f"with per_rank=True every rank writes samples: put {{rank}} in out ({os.fspath(out)!r})")
        self.interval_s, self.log_every_n_steps, self.per_rank = float(interval_s), log_every_n_steps, per_rank
        self.metrics, self.out, self.prometheus, self.rules = tuple(metrics), out, prometheus, rules
        self.gpu, self.prefix = gpu, prefix
        self.monitor: Optional[Any] = None
        self.summary: Optional[Dict[str, Any]] = None
        self._batches = 0
        self._rank = 0

    # Lightning hooks
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._rank = _rank(trainer)
        if self.monitor is not None or not (self.per_rank or self._rank == 0):
            return
        out = None if self.out is None else os.fspath(self.out).replace("{rank}", str(self._rank))
        self.monitor = _native.ResourceMonitor(self.interval_s, gpu=self.gpu, out=out, prometheus=self.prometheus,
                                               rules=None if self.rules is None else os.fspath(self.rules))
        if self.monitor.gpu_note:
            print(f"ocrperf: resource monitor: {self.monitor.gpu_note}")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._batches += 1
        if self.monitor is not None and self._batches % self.log_every_n_steps == 0:
            self.log_now(trainer)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self.close(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.close(trainer)

    # The work
    def selected(self, latest: Dict[str, float]) -> Dict[str, float]:
        """The latest figures that match ``metrics``, named for the loggers."""
        scope = f"{self.prefix}/rank{self._rank}" if self.per_rank else self.prefix
        return {f"{scope}/{name}": value for name, value in sorted(latest.items())
                if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.metrics)}

    def log_now(self, trainer: Any) -> Dict[str, float]:
        """Logs the latest figures and raises the alerts that fired since the last call."""
        if self.monitor is None:
            return {}
        figures = self.selected(self.monitor.latest())
        _log(trainer, figures)
        self._raise_alerts()
        return figures

    def _raise_alerts(self) -> None:
        for alert in self.monitor.take_alerts():
            if alert["state"] == "firing":
                warnings.warn(f"ocrperf alert {alert['rule']} ({alert['severity']}): {alert['message']} "
                              f"[{alert['metric']} = {alert['value']:.4g}]", ResourceAlert, stacklevel=2)
        for warning in self.monitor.take_warnings():
            warnings.warn(f"ocrperf resource monitor: {warning}", ResourceAlert, stacklevel=2)

    def close(self, trainer: Any = None) -> Optional[Dict[str, Any]]:
        """Stops sampling (idempotent), logs what is left, and keeps the summary report."""
        if self.monitor is None:
            return self.summary
        if trainer is not None:
            self.log_now(trainer)
        summary = self.monitor.stop()
        self.monitor = None
        if summary is not None:
            self.summary = json.loads(summary)
        return self.summary
