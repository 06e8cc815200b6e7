"""Type stubs of the extension module ``ocrperf._native`` (the Rust half of the package)."""

from collections.abc import Sequence
from os import PathLike
from typing import Any, TypedDict, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "Generator",
    "ResourceMonitor",
    "BatchEventWriter",
    "HEADLINE_METRICS",
    "select_metrics",
    "metric_pattern_warnings",
    "analyze_traces",
    "cli_main",
    "_panic_for_test",
]

__version__: str
#: The Lightning ``ResourceMonitor``'s default metric patterns (``resource_monitor::HEADLINE_METRICS``).
HEADLINE_METRICS: tuple[str, ...]

_Path = str | PathLike[str]

_Map = npt.NDArray[np.float32] | npt.NDArray[np.uint8]
_Bools = npt.NDArray[np.bool_]

# PyO3 classes are built by `__new__` and cannot be subclassed.
@final
class Generator:
    """DBNet target generation with DB's or PaddleOCR's semantics, optionally cached."""

    def __new__(
        cls,
        *,
        semantics: str = "db",
        shrink_ratio: float | None = None,
        min_text_size: float | None = None,
        thresh_min: float | None = None,
        thresh_max: float | None = None,
        cache_mb: float | None = None,
    ) -> Generator: ...
    def shrink(
        self,
        height: int,
        width: int,
        points: npt.NDArray[np.float64],
        lengths: npt.NDArray[np.int64],
        ignore: _Bools,
        is_training: bool,
        float32: bool,
        shrink_ratio: float | None,
        compact: bool,
    ) -> tuple[_Map, _Map, _Bools, _Bools]: ...
    def border(
        self,
        height: int,
        width: int,
        points: npt.NDArray[np.float64],
        lengths: npt.NDArray[np.int64],
        ignore: _Bools,
        float32: bool,
        shrink_ratio: float | None,
        compact: bool,
    ) -> tuple[npt.NDArray[np.float32], _Map]: ...
    def generate(
        self,
        height: int,
        width: int,
        points: npt.NDArray[np.float64],
        lengths: npt.NDArray[np.int64],
        ignore: _Bools,
        is_training: bool,
        float32: bool,
        compact: bool,
    ) -> tuple[_Map, _Map, npt.NDArray[np.float32], _Map, _Bools, _Bools]: ...
    def cache_stats(self) -> dict[str, float] | None: ...

@final
class BatchEventWriter:
    """The batch-event file of the ``Throughput`` callback (one writer, one validation, in Rust)."""

    def __new__(cls, path: _Path, *, flush_every: int = 1) -> BatchEventWriter: ...
    def write(
        self,
        *,
        step: int,
        batch_size: int,
        data_wait_s: float,
        compute_s: float,
        t_start: float | None = None,
        gpu_mem_bytes: int | None = None,
    ) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    @property
    def path(self) -> str: ...

@final
class ResourceMonitor:
    """GPU (NVML), CPU, memory and disk sampling on a background thread."""

    def __new__(
        cls,
        interval_s: float = 1.0,
        *,
        gpu: bool = True,
        out: _Path | None = None,
        prometheus: str | None = None,
        rules: _Path | None = None,
        pid: int | None = None,
    ) -> ResourceMonitor: ...
    @staticmethod
    def check_interval(interval_s: float) -> None: ...
    def latest(self) -> dict[str, float]: ...
    def take_alerts(self) -> list[dict[str, Any]]: ...
    def take_warnings(self) -> list[str]: ...
    @property
    def samples(self) -> int: ...
    @property
    def gpu_note(self) -> str | None: ...
    @property
    def gpus(self) -> int: ...
    @property
    def prometheus_address(self) -> str | None: ...
    def stop(self) -> str | None: ...
    def __enter__(self) -> ResourceMonitor: ...
    def __exit__(self, *exc: object) -> bool: ...

def select_metrics(latest: dict[str, float], patterns: Sequence[str]) -> dict[str, float]: ...
def metric_pattern_warnings(patterns: Sequence[str]) -> list[str]: ...

class _TraceAnalysis(TypedDict):
    report: dict[str, Any]
    markdown: str
    metrics: dict[str, float]
    warnings: list[str]

def analyze_traces(
    paths: _Path | Sequence[_Path],
    *,
    top: int = 15,
    lenient: bool = False,
    jobs: int = 0,
    json_out: _Path | None = None,
    markdown_out: _Path | None = None,
) -> _TraceAnalysis: ...
def cli_main(argv: Sequence[str], own_process: bool = False) -> int: ...
def _panic_for_test(message: str) -> None: ...
