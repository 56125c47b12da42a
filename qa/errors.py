"""Errors a user can fix. The CLI prints `str(exc)` on one line and exits with `exit_code`."""


class QAError(Exception):
    exit_code = 1


class ModelNotFound(QAError):
    exit_code = 2


class IndexProblem(QAError):
    """The index is missing, corrupt, foreign or built differently; the message names the fix."""

    exit_code = 2


class IndexBusy(QAError):
    """Another process is writing the index."""

    exit_code = 3


class BadQuestion(QAError):
    exit_code = 2


class MissingPath(QAError):
    """A file or folder named to index does not exist."""

    exit_code = 2


class BadOption(QAError):
    """A command-line value qa does not accept."""

    exit_code = 2


class VectorsNotWritten(IndexProblem):
    """A file derived from the database (the vectors, the keyword postings) could not be written, most often
    for a full disk; the database keeps the passages."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"cannot write {path} ({reason}): the passages are saved; free some space and run qa index"
            " again, which writes it from them"
        )
        self.path, self.reason = path, reason
