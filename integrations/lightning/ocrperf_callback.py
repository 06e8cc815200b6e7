"""Moved: the Lightning throughput callback is now ``ocrperf.lightning.Throughput`` in the Python
package (``pip install ./ocrperf-py``). This module keeps the old import working::

    from ocrperf_callback import OcrperfThroughput   # still works, with the package installed
    from ocrperf.lightning import Throughput         # the new name
"""

from ocrperf.lightning import OcrperfThroughput, Throughput, _batch_size  # noqa: F401

__all__ = ["OcrperfThroughput", "Throughput"]
