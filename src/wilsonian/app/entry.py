"""The ``wilsonian`` script and ``python -m wilsonian``: the command line of
:mod:`wilsonian.app.cli`, imported here so that Ctrl-C while it loads (NumPy and the
command's modules, 0.1-0.7 s) ends as it does later: ``error: interrupted``, exit code 130,
no traceback."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from wilsonian.app.cli import main as command_line
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return command_line()
