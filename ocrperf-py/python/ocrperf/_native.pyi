"""Type stubs of the extension module ``ocrperf._native`` (the Rust half of the package)."""

from os import PathLike
from typing import Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

_Map = Union[npt.NDArray[np.float32], npt.NDArray[np.uint8]]
_Bools = npt.NDArray[np.bool_]

class Generator:
    """DBNet target generation with DB's or PaddleOCR's semantics, optionally cached."""

    def __init__(
        self,
        *,
        semantics: str = "db",
        shrink_ratio: float = 0.4,
        min_text_size: float = 8.0,
        thresh_min: float = 0.3,
        thresh_max: float = 0.7,
        cache_bytes: Optional[int] = None,
    ) -> None: ...
    def shrink(
        self,
        height: int,
        width: int,
        points: npt.NDArray[np.float64],
        lengths: npt.NDArray[np.int64],
        ignore: _Bools,
        is_training: bool,
        float32: bool,
        shrink_ratio: Optional[float],
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
        shrink_ratio: Optional[float],
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
    def cache_stats(self) -> Optional[dict[str, float]]: ...

class ResourceMonitor:
    """GPU (NVML), CPU, memory and disk sampling on a background thread."""

    def __init__(
        self,
        interval_s: float = 1.0,
        *,
        gpu: bool = True,
        out: Optional[Union[str, PathLike[str]]] = None,
        prometheus: Optional[str] = None,
        rules: Optional[Union[str, PathLike[str]]] = None,
        pid: Optional[int] = None,
    ) -> None: ...
    def latest(self) -> dict[str, float]: ...
    def take_alerts(self) -> list[dict[str, object]]: ...
    def take_warnings(self) -> list[str]: ...
    @property
    def samples(self) -> int: ...
    @property
    def gpu_note(self) -> Optional[str]: ...
    @property
    def gpus(self) -> int: ...
    @property
    def prometheus_address(self) -> Optional[str]: ...
    def stop(self) -> Optional[str]: ...
    def __enter__(self) -> "ResourceMonitor": ...
    def __exit__(self, *exc: object) -> bool: ...

def cli_main(argv: Sequence[str], own_process: bool = False) -> int: ...
