"""Lightning callbacks: ``Throughput``, ``Profiler`` and ``ResourceMonitor``.

Three callbacks, three questions:

- :class:`Throughput`: is the **data loader** keeping up? It times every training batch (the
  wait for the DataLoader, the step) and writes one JSON line per batch for ``ocrperf
  throughput``. It samples no hardware. (Lightning's own ``ThroughputMonitor`` callback is
  another thing: it logs cumulative time, batch and sample counters, which ``ocrperf
  throughput`` also reads from a ``metrics.csv``, but no data wait.)
- :class:`Profiler`: what does a step spend its time on? A ``torch.profiler`` window, analysed
  in process as ``ocrperf trace analyze`` does.
- :class:`ResourceMonitor`: is the **machine** busy? It samples GPUs (NVML), CPU, memory, disks
  and this process on a native thread (``ocrperf monitor``'s sampler) and logs the headline
  figures. It knows nothing of batches or the data loader.

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

With Hydra, ``configs/callbacks/*.yaml`` in the package's source build each of them
(``hydra.utils.instantiate``).

Without Lightning installed the classes still import (they derive from ``object``) and work
with any trainer object that has the attributes they read, which is how they are tested.
"""

import json
import os
import pathlib
import re
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

if TYPE_CHECKING:
    # Type-checked as plain classes: Lightning is optional, and its ``Callback`` hooks are
    # overridden here with the same arguments.
    Callback = object
else:
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


def _loggers(trainer: Any) -> list[Any]:
    """The trainer's loggers (``trainer.loggers``, else ``trainer.logger``), possibly none."""
    loggers = getattr(trainer, "loggers", None)
    if loggers:
        return list(loggers)
    logger = getattr(trainer, "logger", None)
    return [logger] if logger is not None else []


def _log(trainer: Any, metrics: dict[str, float]) -> None:
    """Logs numbers to every logger of the trainer at its global step."""
    if not metrics:
        return
    step = int(getattr(trainer, "global_step", 0) or 0)
    for logger in _loggers(trainer):
        logger.log_metrics(metrics, step=step)


def _leading_dimension(batch: Any) -> Optional[int]:
    """The first dimension of the first tensor-like leaf (anything with a `.shape`), or None."""
    if hasattr(batch, "shape") and len(batch.shape) > 0:
        return int(batch.shape[0])
    values = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (list, tuple)) else ()
    for value in values:
        size = _leading_dimension(value)
        if size is not None:
            return size
    return None


def _batch_size(batch: Any) -> int:
    """Samples in a batch: a tensor leaf's first dimension, else the length of the batch."""
    size = _leading_dimension(batch)
    if size is not None:
        return size
    try:
        return len(batch)
    except TypeError:
        return 0


class Throughput(Callback):
    """Data-loader throughput: per-batch timing events for ``ocrperf throughput``, one
    ``BatchEvent`` JSON line per training batch, written to ``path``. (For GPU, CPU and memory
    figures use :class:`ResourceMonitor`; this callback samples no hardware.)

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

    Lines are written whole and flushed every ``flush_every`` batches (at least 1; the writer,
    opened when training starts, refuses 0 with ``ValueError``), so a crash loses at most
    those. With several processes (DDP) only global rank 0 writes, unless ``path`` contains
    ``{rank}``: then each rank writes its own file, so that a slow rank shows.
    """

    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        sync_cuda: bool = False,
        record_gpu_memory: bool = True,
        flush_every: int = 1,
        clock: Callable[[], float] = time.perf_counter,
        wall_clock: Callable[[], float] = time.time,
        batch_size_fn: Optional[Callable[[Any], int]] = None,
    ) -> None:
        super().__init__()
        self._template = os.fspath(path)
        self.path = self._template.replace("{rank}", "0")
        self._enabled = True
        self.sync_cuda = sync_cuda
        self.record_gpu_memory = record_gpu_memory
        # Checked by Rust's writer when it opens (``on_train_start``), never clamped here.
        self.flush_every = flush_every
        self.clock = clock
        self.wall_clock = wall_clock
        self.batch_size_fn: Callable[[Any], int] = batch_size_fn or _batch_size
        self._writer: Optional[_native.BatchEventWriter] = None
        self._refused = False
        self._last_end: Optional[float] = None
        self._wait = 0.0
        self._start: Optional[float] = None
        self._start_wall = 0.0
        self._step = 0
        self._pending = 0

    # Lightning hooks -------------------------------------------------------------------------

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        rank = _rank(trainer)
        self.path = self._template.replace("{rank}", str(rank))
        # Several ranks appending to one file would interleave their lines.
        self._enabled = rank == 0 or "{rank}" in self._template
        if self._enabled and self._writer is None:
            # Rust's one writer: the schema header on a new file, each event checked as every
            # reader checks it, whole lines.
            self._writer = _native.BatchEventWriter(self.path, flush_every=self.flush_every)
        self._last_end = self.clock()

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._last_end = self.clock()

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        self._last_end = self.clock()

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
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

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._start is None:
            return
        if self.sync_cuda:
            self._synchronize()
        now = self.clock()
        self._write(
            step=self._step,
            batch_size=int(self.batch_size_fn(batch)),
            data_wait_s=max(0.0, self._wait),
            compute_s=max(0.0, now - self._start),
            t_start=self._start_wall,
            gpu_mem_bytes=self._gpu_memory() if self.record_gpu_memory else None,
        )
        self._start = None
        self._last_end = self.clock()

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.close()

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.close()

    # Helpers ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Flushes and closes the event file (idempotent)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write(self, **event: Any) -> None:
        if self._writer is None:
            self._writer = _native.BatchEventWriter(self.path, flush_every=self.flush_every)
        try:
            self._writer.write(**event)
        except ValueError as err:
            # A batch no reader would accept (0 samples, no time at all) is left out, said once:
            # the training goes on.
            if not self._refused:
                self._refused = True
                warnings.warn(f"ocrperf Throughput: {self.path}: {err}; such batches are left out", stacklevel=3)

    @staticmethod
    def _synchronize() -> None:
        try:
            import torch
        except ImportError:
            return
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    @staticmethod
    def _gpu_memory() -> Optional[int]:
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


def parse_steps(steps: str) -> dict[str, int]:
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


def analyze_traces(directory: Union[str, "os.PathLike[str]"], *, prefix: str = "ocrperf/profile") -> dict[str, Any]:
    """Analyses a window's traces in this process, with the code of ``ocrperf trace analyze``
    (read once, in Rust), and writes ``report.json`` and ``report.md`` beside them, atomically
    (the reports of an earlier analysis there are not read as traces).

    Returns the ``ocrperf.trace-analysis`` report (what ``report.json`` holds), with its metrics
    under ``"metrics"``: the report's own metric names (those ``ocrperf baseline`` and
    ``ocrperf regress`` compare: ``trace.steps.mean_ms``, ``trace.dataloader.fraction``, ...),
    each as ``<prefix>/<name>``. What the read noticed (a duplicate device event, ...) is
    warned. Raises ``ValueError`` naming the file when a trace cannot be read."""
    directory = pathlib.Path(directory)
    analysis = _native.analyze_traces(
        directory, json_out=directory / "report.json", markdown_out=directory / "report.md"
    )
    for warning in analysis["warnings"]:
        warnings.warn(f"ocrperf: {warning}", stacklevel=2)
    report = analysis["report"]
    report["metrics"] = {f"{prefix}/{name}": value for name, value in analysis["metrics"].items()}
    return report


class Profiler(Callback):
    """A ``torch.profiler`` window over chosen training batches, analysed when it closes.

    One argument sets the window: ``steps="10..15"`` (batches 10 to 14, after one warm-up
    batch), or ``schedule=dict(wait=1, warmup=1, active=3, repeat=1)`` as for
    ``torch.profiler.schedule``. Each rank writes its Chrome trace
    (``<dirpath>/window<k>/rank<r>.pt.trace.json.gz``); when a window closes, rank 0 analyses
    the window's traces in this process (:func:`analyze_traces`: ``ocrperf trace analyze``'s
    code), writes ``report.md`` and ``report.json`` beside them, logs the report's metrics
    (``<prefix>/trace.steps.mean_ms``, ``trace.steps.p95_ms``, ``trace.dataloader.fraction``,
    ``trace.gpu.busy_fraction`` and, with several ranks, ``trace.rank<r>.steps.mean_ms``) to the
    trainer's loggers, and prints the recommendations.

    ``dirpath`` defaults to ``<trainer.log_dir>/ocrperf-profile``. ``with_stack``,
    ``profile_memory`` and ``record_shapes`` are passed to ``torch.profiler.profile``.
    """

    def __init__(
        self,
        steps: Optional[str] = "10..15",
        *,
        schedule: Optional[dict[str, int]] = None,
        dirpath: Optional[Union[str, "os.PathLike[str]"]] = None,
        with_stack: bool = False,
        profile_memory: bool = False,
        record_shapes: bool = False,
        analyze: bool = True,
        prefix: str = "ocrperf/profile",
    ) -> None:
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
        self.dirpath: Optional[pathlib.Path] = None if dirpath is None else pathlib.Path(dirpath)
        self.with_stack, self.profile_memory, self.record_shapes = with_stack, profile_memory, record_shapes
        self.analyze, self.prefix = analyze, prefix
        self.reports: list[dict[str, Any]] = []
        self._profiler: Any = None
        self._windows = 0
        self._closed: list[pathlib.Path] = []

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        import torch

        if self.dirpath is None:
            log_dir = getattr(trainer, "log_dir", None) or getattr(trainer, "default_root_dir", None) or "."
            self.dirpath = pathlib.Path(log_dir) / "ocrperf-profile"
        dirpath = self.dirpath
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        rank = _rank(trainer)

        def on_trace_ready(profiler: Any) -> None:
            self._windows += 1
            window = dirpath / f"window{self._windows}"
            window.mkdir(parents=True, exist_ok=True)
            profiler.export_chrome_trace(str(window / f"rank{rank}.pt.trace.json.gz"))
            self._closed.append(window)

        self._profiler = torch.profiler.profile(
            activities=activities,
            schedule=torch.profiler.schedule(**self.schedule),
            on_trace_ready=on_trace_ready,
            with_stack=self.with_stack,
            profile_memory=self.profile_memory,
            record_shapes=self.record_shapes,
        )
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

    def analyze_window(self, trainer: Any, window: Union[str, "os.PathLike[str]"]) -> Optional[dict[str, Any]]:
        """Analyses one window's traces, logs the figures and says the recommendations."""
        try:
            report = analyze_traces(window, prefix=self.prefix)
        except ValueError as err:
            warnings.warn(f"ocrperf: the profiler window in {window} could not be analysed: {err}", stacklevel=2)
            return None
        self.reports.append(report)
        _log(trainer, report["metrics"])
        for recommendation in report.get("recommendations") or []:
            print(
                f"ocrperf: [{recommendation['severity']}] {recommendation['id']}: {recommendation['title']}. "
                f"{recommendation['suggestion']}"
            )
        print(f"ocrperf: profiler report: {pathlib.Path(window) / 'report.md'}")
        return report


# --------------------------------------------------------------------------- ResourceMonitor
class ResourceAlert(UserWarning):
    """An alert of ocrperf's resource monitor (a GPU starved, memory nearly full, ...)."""


#: What ``ResourceMonitor`` logs unless told otherwise: the headline figures (the host's CPU
#: and memory, each GPU's utilisation, memory, temperature and power, each disk's busy time, this
#: process's CPU and RSS), not every disk, network interface and clock. The list is Rust's
#: (``resource_monitor::HEADLINE_METRICS``, tested against a real sample), not a copy.
DEFAULT_METRICS: tuple[str, ...] = _native.HEADLINE_METRICS


class ResourceMonitor(Callback):
    """Machine resources: GPU (NVML), CPU, memory, disk and process figures in the trainer's
    loggers, with alerts. (For the data loader's throughput use :class:`Throughput`; this
    callback samples the machine, not batches.)

    A native thread samples every ``interval_s`` seconds from the start of ``fit`` (no Python
    work per sample, no GIL). Every ``log_every_n_steps`` training batches the latest figures
    matching ``metrics`` (patterns over names such as ``gpu.0.utilization_percent`` or
    ``host.cpu_percent``, where ``*`` stands for one dotted part as in alert rules:
    ``gpu.*.power_w``; default :data:`DEFAULT_METRICS`; a pattern that can match nothing is
    warned about) are logged as
    ``<prefix>/<metric>``, e.g. ``ocrperf/monitor/gpu.0.utilization_percent``, and alerts that
    fired since (the monitor's rules, or a TOML file's, ``rules=``) are raised as
    :class:`ResourceAlert` warnings. By default only global rank 0 samples and logs; with
    ``per_rank=True`` every rank does, under ``<prefix>/rank<r>/``. ``out`` also writes the
    JSONL (or ``.csv``) sample file (``{rank}`` in it is replaced), and
    ``prometheus="127.0.0.1:9400"`` serves ``/metrics``. Without a GPU or NVIDIA's library the
    host is still sampled, and ``gpu_note`` says why GPUs are not.
    """

    def __init__(
        self,
        interval_s: float = 1.0,
        *,
        log_every_n_steps: int = 50,
        per_rank: bool = False,
        metrics: Sequence[str] = DEFAULT_METRICS,
        out: Optional[Union[str, "os.PathLike[str]"]] = None,
        prometheus: Optional[str] = None,
        rules: Optional[Union[str, "os.PathLike[str]"]] = None,
        gpu: bool = True,
        prefix: str = "ocrperf/monitor",
    ) -> None:
        super().__init__()
        if not (isinstance(log_every_n_steps, int) and log_every_n_steps >= 1):
            raise ValueError(f"log_every_n_steps must be a whole number >= 1, not {log_every_n_steps!r}")
        _native.ResourceMonitor.check_interval(float(interval_s))  # the monitor's own range
        if per_rank and out is not None and "{rank}" not in os.fspath(out):
            raise ValueError(f"with per_rank=True every rank writes samples: put {{rank}} in out ({os.fspath(out)!r})")
        self.interval_s, self.log_every_n_steps, self.per_rank = float(interval_s), log_every_n_steps, per_rank
        # Rust's check, as for alert rules: a pattern that can match no metric is a typo.
        for warning in _native.metric_pattern_warnings(metrics):
            warnings.warn(f"ocrperf ResourceMonitor: {warning}", stacklevel=2)
        self.metrics, self.out, self.prometheus, self.rules = tuple(metrics), out, prometheus, rules
        self.gpu, self.prefix = gpu, prefix
        self.monitor: Optional[_native.ResourceMonitor] = None
        self.summary: Optional[dict[str, Any]] = None
        self._batches = 0
        self._rank = 0

    # Lightning hooks
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self._rank = _rank(trainer)
        if self.monitor is not None or not (self.per_rank or self._rank == 0):
            return
        out = None if self.out is None else os.fspath(self.out).replace("{rank}", str(self._rank))
        self.monitor = _native.ResourceMonitor(
            self.interval_s,
            gpu=self.gpu,
            out=out,
            prometheus=self.prometheus,
            rules=None if self.rules is None else os.fspath(self.rules),
        )
        if self.monitor.gpu_note:
            print(f"ocrperf: resource monitor: {self.monitor.gpu_note}")
        # What the rules file's check found (a rule whose metric matches nothing), at once.
        for warning in self.monitor.take_warnings():
            warnings.warn(f"ocrperf resource monitor: {warning}", stacklevel=2)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._batches += 1
        if self.monitor is not None and self._batches % self.log_every_n_steps == 0:
            self.log_now(trainer)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self.close(trainer)

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        self.close(trainer)

    # The work
    def selected(self, latest: dict[str, float]) -> dict[str, float]:
        """The latest figures that match ``metrics`` (Rust's selection, the alert rules'
        matcher), named for the loggers."""
        scope = f"{self.prefix}/rank{self._rank}" if self.per_rank else self.prefix
        picked = _native.select_metrics(latest, self.metrics)
        return {f"{scope}/{name}": value for name, value in sorted(picked.items())}

    def log_now(self, trainer: Any) -> dict[str, float]:
        """Logs the latest figures and raises the alerts that fired since the last call."""
        if self.monitor is None:
            return {}
        figures = self.selected(self.monitor.latest())
        _log(trainer, figures)
        self._raise_alerts()
        return figures

    def _raise_alerts(self) -> None:
        if self.monitor is None:
            return
        for alert in self.monitor.take_alerts():
            if alert["state"] == "firing":
                warnings.warn(
                    f"ocrperf alert {alert['rule']} ({alert['severity']}): {alert['message']} "
                    f"[{alert['metric']} = {alert['value']:.4g}]",
                    ResourceAlert,
                    stacklevel=2,
                )
        for warning in self.monitor.take_warnings():
            warnings.warn(f"ocrperf resource monitor: {warning}", ResourceAlert, stacklevel=2)

    def close(self, trainer: Any = None) -> Optional[dict[str, Any]]:
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
