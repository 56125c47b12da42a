"""Files derived from the database (the vectors, the keyword postings), written so readers never see half."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from qa.errors import VectorsNotWritten


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write` a temporary name, fsync it, then rename it to `path`; a failure removes the temporary file
    and says why in one line (VectorsNotWritten: most often a full disk)."""
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
    except (RuntimeError, OSError) as exc:  # FAISS reports a full disk as a RuntimeError
        with contextlib.suppress(OSError):
            tmp.unlink()
        reason = "the disk is full" if "No space left" in str(exc) else (str(exc).splitlines() or [""])[-1]
        raise VectorsNotWritten(str(path), reason) from None
    os.replace(tmp, path)
