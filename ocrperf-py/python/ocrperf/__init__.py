"""ocrperf: fast input pipelines for DBNet-style text detection, and the tools that keep them fast.

- :mod:`ocrperf.dbnet`: drop-in DBNet target generation for MhLiao/DB pipelines
  (``MakeSegDetectionData``, ``MakeBorderMap``) and ``DBTargets`` (both steps, cached);
- :mod:`ocrperf.dbnet.paddle`: the same for PaddleOCR (``MakeBorderMap``, ``MakeShrinkMap``);
- :mod:`ocrperf.lightning`: ``Throughput``, ``Profiler`` and ``ResourceMonitor`` callbacks;
- :class:`BatchEventWriter`: the batch-event file ``ocrperf throughput``, ``baseline`` and
  ``regress`` read, for a training loop without Lightning;
- the ``ocrperf`` command (``ocrperf --help``), installed with the package.

The work runs in Rust (``ocrperf._native``) with the GIL released, so DataLoader workers and
threads scale, and the maps come back as NumPy arrays without a copy.
"""

from ocrperf._native import BatchEventWriter, __version__

__all__ = ["BatchEventWriter", "__version__"]
