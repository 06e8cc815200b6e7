"""``python -m ocrperf``: the ``ocrperf`` command."""

from ocrperf._cli import main

main()
