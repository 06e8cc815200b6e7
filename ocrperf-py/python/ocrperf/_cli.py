"""The ``ocrperf`` console script: the same command as the Rust binary, run in this process."""

import sys

from ocrperf import _native


def main() -> None:
    """Runs ``ocrperf`` with this process's arguments and exits with its code."""
    sys.exit(_native.cli_main(["ocrperf", *sys.argv[1:]], own_process=True))


if __name__ == "__main__":
    main()
