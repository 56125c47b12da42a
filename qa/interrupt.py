"""Ctrl-C that always stops a long write, even when the KeyboardInterrupt it raises is swallowed.

Python raises KeyboardInterrupt wherever the main thread happens to be; inside a finalizer or a
library's cleanup it is printed as "Exception ignored" and lost, and `qa index` then ran to the end.
The handler also remembers the request, and the indexer checks it between steps (`check`).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_requested = threading.Event()


def _handler(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise KeyboardInterrupt


def install() -> None:
    """Use the remembering handler (main thread only: elsewhere Python cannot set one)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first one was swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt


def exiting() -> None:
    """The interrupt is handled and the process is on its way out: ignore another Ctrl-C.

    A second KeyboardInterrupt while Python waits for the embedding threads at exit left them running into
    the interpreter's teardown ("terminate called without an active exception", exit 134). The wait is
    short (each thread finishes the passage it is on); a handler of our own instead of SIG_IGN would be
    reset to the default by Python's shutdown, and a late Ctrl-C would then kill the process.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
