"""Child of bench_commands.py: run ``wilsonian ARGS`` as the command line does, timing its parts.

    python benchmarks/_timed_command.py RECORD.json ARGS...

The command runs through ``wilsonian.app.cli.main`` unchanged, called as the ``wilsonian``
script calls it (arguments in ``sys.argv``); only its computation
(``run`` / ``reproduce.figN`` / ``reproduce.toy``) and its writer (``write_outputs`` /
``reproduce.write``: figures and files) are wrapped in timers, outermost calls only. The
record says when the computation started (start-up: imports, parsing, checks), how long it
and the writing took, and the process's own time to the end of ``main``.
"""

from __future__ import annotations

import functools
import json
import sys
import time

START = time.perf_counter()

spans: dict[str, float] = {}
first_call: dict[str, float] = {}
_depth = [0]


def timed(kind: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _depth[0]:
            return function(*args, **kwargs)
        _depth[0] += 1
        begin = time.perf_counter()
        first_call.setdefault(kind, begin - START)
        try:
            return function(*args, **kwargs)
        finally:
            spans[kind] = spans.get(kind, 0.0) + time.perf_counter() - begin
            _depth[0] -= 1

    return wrapper


def main() -> int:
    record_path, argv = sys.argv[1], sys.argv[2:]
    if argv[0] == "run":  # the modules `wilsonian run` imports anyway
        import wilsonian.app.outputs as outputs
        import wilsonian.app.run as run_module

        run_module.run = timed("compute", run_module.run)
        outputs.write_outputs = timed("write", outputs.write_outputs)
    else:
        import wilsonian.app.reproduce as reproduce

        for name in ("fig1", "fig2", "fig3", "fig4", "fig5", "toy"):
            setattr(reproduce, name, timed("compute", getattr(reproduce, name)))
        reproduce.write = timed("write", reproduce.write)
    from wilsonian.app.cli import main as cli_main

    sys.argv = ["wilsonian", *argv]
    code = cli_main()  # as the `wilsonian` script calls it (no argv: the process ends after it)
    record = {"code": code, "in_process_s": time.perf_counter() - START,
              "startup_s": first_call.get("compute"), "compute_s": spans.get("compute"),
              "write_s": spans.get("write")}
    with open(record_path, "w") as handle:
        json.dump(record, handle)
    return code


if __name__ == "__main__":
    sys.exit(main())
