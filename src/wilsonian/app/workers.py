"""Functions run in spawned worker processes that Ctrl-C stops cleanly (the sweep's groups).

Ctrl-C reaches every process of the terminal's group. A worker interrupted inside numba or
BLAS could hang the pool, and one stopped half-started prints a traceback, so the workers
never see it: the parent takes it, stops them all and cleans up, and the command ends with
its one line, ``error: interrupted``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

__all__ = ["in_processes", "one_interrupt", "one_interrupt_until_exit"]

# Whether the SIGINT of an interrupt_once block has been raised (shared by nested blocks), and
# how many blocks are open: the outermost one's exit forgets it.
_interrupt = {"raised": False, "depth": 0}


def _raise_once(signum, frame) -> None:
    """SIGINT handler: KeyboardInterrupt for the first one, nothing for the ones after it."""
    if _interrupt["raised"]:
        return
    _interrupt["raised"] = True
    raise KeyboardInterrupt


def one_interrupt_until_exit() -> None:
    """:func:`one_interrupt` for the rest of the process (a command that ends on Ctrl-C): a
    second SIGINT then cannot interrupt its clean-up, its ``error: interrupted`` or the
    interpreter's exit, where the default handler would kill it with a traceback or SIGINT."""
    import atexit
    import signal

    try:
        signal.signal(signal.SIGINT, _raise_once)
    except ValueError:   # not the main thread
        return
    _interrupt["depth"] += 1   # never left: blocks inside it keep its state

    def ignore_after_an_interrupt() -> None:
        # The interpreter's exit puts back the default handler for any handler of Python's own,
        # but keeps SIG_IGN: after an interrupt, a late second SIGINT then cannot kill the exit.
        if _interrupt["raised"]:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    atexit.register(ignore_after_an_interrupt)


@contextlib.contextmanager
def one_interrupt() -> Iterator[None]:
    """Within the block, the first SIGINT raises KeyboardInterrupt and any later one is
    ignored (in the main thread; elsewhere signals are the main thread's anyway).

    A second Ctrl-C, or ``timeout``'s second SIGINT a few ms later, would otherwise land in
    the clean-up of the first: inside multiprocessing's locks ("RuntimeError: release
    unlocked lock", a traceback and exit code 1) or in the interpreter's exit (killed by
    SIGINT). On leaving the outermost block the previous handler is back and the next
    SIGINT raises again (a notebook stays interruptible).
    """
    import signal

    try:
        previous = signal.signal(signal.SIGINT, _raise_once)
    except ValueError:   # not the main thread
        yield
        return
    _interrupt["depth"] += 1
    try:
        yield
    finally:
        _interrupt["depth"] -= 1
        signal.signal(signal.SIGINT, previous)
        if _interrupt["depth"] == 0:
            _interrupt["raised"] = False


def _start_worker(ready) -> None:
    """Initializer of the sweep's worker processes: Ctrl-C is the parent's to handle (it stops
    the workers; a worker interrupted inside numba or BLAS could hang the pool), and a
    warning is one line, as in the command. Then it tells the parent it is ready."""
    import signal
    import warnings

    from wilsonian.errors import show_warning_on_one_line

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.showwarning = show_warning_on_one_line
    ready.put(os.getpid())


def _call(function_and_arguments: tuple) -> Any:
    function, arguments = function_and_arguments
    return function(*arguments)


def in_processes(function, arguments: list[tuple], workers: int, *, done=None,
                 on_interrupt=None) -> list:
    """``[function(*a) for a in arguments]`` in ``workers`` spawned processes, in order;
    ``done(i)`` after each result. On an exception in the parent (Ctrl-C) or a worker, every
    worker is stopped, then ``on_interrupt()`` runs, before it propagates: nothing keeps
    running, and nothing is left waiting on a worker."""
    import gc
    import multiprocessing
    import signal

    # SIGINT is held back until every worker has started: a worker inherits the mask and
    # never sees Ctrl-C, even during its imports before the initializer runs, and none is
    # stopped half-started (it would print a traceback); the parent gets a Ctrl-C after.
    # The resource tracker must be running first: starting it unblocks SIGINT again.
    # Another thread (BLAS's) can take a process-wide SIGINT despite the mask, so meanwhile
    # the parent's handler only notes it, and the interrupt is raised once the pool stands.
    context = multiprocessing.get_context("spawn")
    mask = getattr(signal, "pthread_sigmask", None)   # POSIX; elsewhere the initializer alone
    if mask is not None:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    noted: list[int] = []
    with _interrupts_held(noted.append):
        held = mask(signal.SIG_BLOCK, {signal.SIGINT}) if mask is not None else None
        try:
            ready = context.SimpleQueue()
            pool = context.Pool(workers, initializer=_start_worker, initargs=(ready,))
            for _ in range(workers):
                ready.get()
        finally:
            if mask is not None:
                mask(signal.SIG_SETMASK, held)
    try:
        with one_interrupt():
            if noted:   # a Ctrl-C while the workers started: this is its KeyboardInterrupt
                _interrupt["raised"] = True
                raise KeyboardInterrupt
            results = []
            for i, result in enumerate(pool.imap(_call, [(function, a) for a in arguments])):
                results.append(result)
                if done is not None:
                    done(i)
    except BaseException:
        # A second Ctrl-C (or timeout's second SIGINT) must not cut the clean-up short.
        with _interrupts_held():
            pool.terminate()
            pool.join()
            # The stopped pool's queues hold named semaphores inside reference cycles; collect
            # them now, or the command's exit (which skips collection) leaves them to the
            # resource tracker, which reports them as leaked.
            del pool
            gc.collect()
            if on_interrupt is not None:
                on_interrupt()
        raise
    pool.close()
    pool.join()
    return results


@contextlib.contextmanager
def _interrupts_held(note=None) -> Iterator[None]:
    """SIGINT ignored inside the block, or passed to ``note(signum)`` (where a handler can be
    set: the main thread)."""
    import signal

    handler = signal.SIG_IGN if note is None else (lambda signum, frame: note(signum))
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:   # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
