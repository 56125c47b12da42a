"""One writer per index folder, enforced with an advisory file lock that dies with its process."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.errors import IndexBusy, IndexProblem

LOCK_NAME = ".writer.lock"


@contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    path = index_dir / LOCK_NAME
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole with-block
    except OSError as exc:  # a read-only disk or folder, another user's index: reading still works
        reason = (exc.strerror or type(exc).__name__).lower()
        raise IndexProblem(f"cannot write to the index folder {index_dir}: {reason}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            raise IndexBusy(f"index is being updated by process {pid}; try again when it finishes") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
