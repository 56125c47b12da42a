"""`qa` with no command: the terminal UI, on the same `qa.core.QA` API as the command line.

The first frame draws at once; the index and the model load in a worker thread (qa.core imports
onnxruntime and FAISS only then). Every call that can block (load, ask, index, reading an article)
runs in a worker, and results come back as messages.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.worker import get_current_worker

from qa.conversations import ConversationStore, default_data_dir
from qa.errors import QAError
from qa.tui import render
from qa.tui.chat import ChatScreen
from qa.tui.help import HelpScreen, HelpSection, binding_rows
from qa.types import Citation, IndexReport, IndexStats

if TYPE_CHECKING:
    from qa.core import QA


class IndexCancelled(Exception):
    """Raised from the progress callback to stop an index run when the app quits."""


INDEX_POLL_SECONDS = 2.0
GIL_SWITCH_SECONDS = 0.0005


class QAApp(App[None]):
    """Chat with your articles. `phase` is the index's state; `indexing` is true while one runs."""

    CSS_PATH = Path(__file__).with_name("qa.tcss")
    TITLE = "qa"
    NOTIFICATION_TIMEOUT = 6

    BINDINGS = [
        Binding("f1", "help", "Help", tooltip="Show every key (also ? outside the question box)"),
        Binding(
            "question_mark",
            "help",
            "Help",
            show=False,
            tooltip="Show every key (also ? outside the question box)",
        ),
        Binding(
            "ctrl+r",
            "reindex",
            "Index",
            tooltip="Index articles in the background (those indexed before, or the sample articles)",
        ),
        Binding(
            "ctrl+t", "toggle_theme", "Theme", show=False, tooltip="Switch between the light and dark themes"
        ),
    ]

    phase: reactive[str] = reactive("starting")  # starting, loading, ready, empty, error
    indexing: reactive[bool] = reactive(False)
    stats: reactive[IndexStats | None] = reactive(None)
    error: reactive[str] = reactive("")
    index_progress: reactive[tuple[int, int]] = reactive((0, 0))
    last_index_paths: var[str] = var("")

    class Loaded(Message):
        def __init__(self, stats: IndexStats, ready: bool) -> None:
            super().__init__()
            self.stats = stats
            self.ready = ready

    class LoadFailed(Message):
        def __init__(self, error: str, missing: bool) -> None:
            super().__init__()
            self.error = error
            self.missing = missing

    class IndexProgress(Message):
        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done = done
            self.total = total

    class Indexed(Message):
        def __init__(self, report: IndexReport | None, error: str | None = None) -> None:
            super().__init__()
            self.report = report
            self.error = error

    def __init__(
        self,
        index_dir: str | Path = Path("index"),
        model: str | None = None,
        data_dir: Path | None = None,
        *,
        show_timings: bool = True,
    ) -> None:
        super().__init__()
        self.index_dir = Path(index_dir)
        self.model = model
        self._qa: QA | None = None
        self._qa_lock = threading.Lock()
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.store_problem = ""
        try:
            self.conversations = ConversationStore(self.data_dir)
        except (OSError, sqlite3.Error) as exc:
            self.store_problem = f"conversations will not be saved ({self.data_dir}: {exc})"
            self.conversations = ConversationStore(None)
        self.show_timings = show_timings
        self._index_seen: tuple[int, ...] = ()  # the index files' sizes and times, last looked at
        self._switch_interval = sys.getswitchinterval()  # put back on exit

    @property
    def qa(self) -> QA:
        """The core API. Made on first use, in the load worker: qa.core brings numpy in."""
        with self._qa_lock:
            if self._qa is None:
                from qa.core import QA

                self._qa = QA(self.index_dir, self.model)
            return self._qa

    def get_default_screen(self) -> Screen[None]:
        return ChatScreen()

    @property
    def chat(self) -> ChatScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, ChatScreen)
        return screen

    def on_mount(self) -> None:
        # The answer is computed on a thread while this one draws: at Python's default 5 ms between
        # hand-overs of the GIL, the answer's thread waited ~4 ms to start after enter (bench/tui.py).
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        if self.store_problem:
            self.notify(self.store_problem, severity="warning", timeout=12)
        # The first frame goes out before the worker starts importing the model's libraries.
        self.call_after_refresh(self._load)
        self._index_seen = self._index_stamp()  # what _load reads: a change from here on is looked at
        self.set_interval(INDEX_POLL_SECONDS, self._poll_for_index)

    def _poll_for_index(self) -> None:
        """Notice what `qa index` in another shell has saved since: with no articles yet, or an index that
        could not be opened, load it (the app said "No articles indexed yet" until it was restarted); with
        one open, count it again for the header. A look at the files' sizes and times."""
        if self.phase not in ("empty", "error", "ready") or self.indexing:
            return
        seen = self._index_stamp()
        if seen == self._index_seen:
            return
        self._index_seen = seen
        if self.phase != "ready":
            self._load()
        else:  # (answers pick up the new articles by themselves)
            self._recount()

    @work(thread=True, exclusive=True, group="recount", exit_on_error=False)
    def _recount(self) -> None:
        try:
            stats = self.qa.stats()
        except QAError:
            return  # the next question reports what is wrong
        self.post_message(self.Loaded(stats, ready=stats.articles > 0))  # all removed: "empty", as _load says

    def _index_stamp(self) -> tuple[int, ...]:
        stamp: list[int] = []
        for name in ("qa.sqlite", "qa.sqlite-wal"):
            try:
                info = (self.index_dir / name).stat()
            except OSError:
                continue
            stamp += [info.st_mtime_ns, info.st_size]
        return tuple(stamp)

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        self.conversations.close()

    # -- loading ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self) -> None:
        try:
            if not self.qa.exists():
                self.post_message(self.LoadFailed("no index yet", missing=True))
                return
            stats = self.qa.stats()
            if stats.articles == 0:
                self.post_message(self.Loaded(stats, ready=False))
                return
            self.qa.load()
            from qa.core import settle_heap

            settle_heap()
            self.post_message(self.Loaded(stats, ready=True))
        except QAError as exc:
            self.post_message(self.LoadFailed(str(exc), missing=not self.qa.exists()))
        except Exception as exc:
            self.post_message(
                self.LoadFailed(f"unexpected error: {type(exc).__name__}: {exc}", missing=False)
            )

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.stats = message.stats
        self.error = ""
        self.phase = "ready" if message.ready else "empty"

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        said = self.error
        self.stats = None
        self.error = message.error
        self.phase = "empty" if message.missing else "error"
        if not message.missing and message.error != said:  # looked at again as the files change: once
            self.notify(
                f"Could not open the index: {render.oneline(message.error)}", severity="error", timeout=20
            )

    # -- indexing -----------------------------------------------------------------------------------

    def start_index(self, paths: list[Path] | None) -> None:
        """Index `paths` (None: what the index was built from, or the sample articles for a new one) in a
        worker; the UI stays live."""
        if self.indexing:
            self.notify("Indexing is already running.", severity="warning")
            return
        self.index_progress = (0, 0)
        self.indexing = True
        self._index(paths)

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def _index(self, paths: list[Path] | None) -> None:
        worker = get_current_worker()
        last = [-1]

        def progress(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise IndexCancelled
            step = 200 * done // max(total, 1)
            if step != last[0]:
                last[0] = step
                self.post_message(self.IndexProgress(done, total))

        outcome: dict[str, object] = {}

        def run() -> None:
            try:
                outcome["report"] = self.qa.index(paths, progress=progress)
            except BaseException as exc:
                outcome["error"] = exc

        # The run goes on in a daemon thread, so quitting mid-run does not wait for it: the index
        # is safe to stop at any moment (its writes are transactions, its lock dies with the process).
        thread = threading.Thread(target=run, name="qa-index", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
            if worker.is_cancelled:
                return
        error = outcome.get("error")
        if isinstance(error, IndexCancelled):
            return
        if isinstance(error, QAError):
            self.post_message(self.Indexed(None, str(error)))
        elif error is not None:
            self.post_message(self.Indexed(None, f"unexpected error: {type(error).__name__}: {error}"))
        else:
            self.post_message(self.Indexed(outcome["report"]))  # type: ignore[arg-type]

    @on(IndexProgress)
    def _index_progress(self, message: IndexProgress) -> None:
        self.index_progress = (message.done, message.total)

    @on(Indexed)
    def _indexed(self, message: Indexed) -> None:
        self.indexing = False
        if message.report is None:
            self.notify(
                f"Indexing failed: {render.oneline(message.error or '')}", severity="error", timeout=12
            )
            return
        report = message.report
        text = f"Indexed: {report.summary()}"
        if report.skipped:
            shown = "; ".join(
                f"{render.display_source(s.source)}: {render.oneline(s.reason)}" for s in report.skipped[:3]
            )
            more = f" and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
            text += f"\nSkipped {shown}{more}"
        self.notify(text, severity="warning" if report.skipped else "information", timeout=10)
        self.phase = "loading"
        self._load()

    # -- actions ------------------------------------------------------------------------------------

    def action_reindex(self) -> None:
        """Ask what to index (what was indexed before, else the sample articles), then index it in a worker."""
        if self.indexing:
            self.notify("Indexing is already running.", severity="warning")
            return
        from qa.core import default_seeds_dir as seeds_dir
        from qa.tui.dialogs import PathDialog

        # What the index was built from (what `qa index` refreshes), else the sample articles.
        indexed = [shlex.quote(render.display_source(p)) for p in self.qa.sources() or []]
        default = (
            self.last_index_paths
            or " ".join(indexed)
            or shlex.quote(render.display_source(str(seeds_dir().resolve())))
        )

        def chosen(value: str | None) -> None:
            if not value:
                return
            try:
                parts = shlex.split(value)
            except ValueError as exc:
                self.notify(f"Could not read the paths: {exc}", severity="error")
                return
            from qa.core import check_paths_to_index

            paths = [os.path.expanduser(p) for p in parts]  # str: Path("") would be the current folder
            try:
                check_paths_to_index(paths)
            except QAError as exc:  # not remembered: the dialog offers what was indexed again next time
                self.notify(f"Nothing indexed: {render.oneline(str(exc))}", severity="error")
                return
            self.last_index_paths = value
            self.start_index([Path(p) for p in paths])

        self.push_screen(
            PathDialog(
                "Index articles",
                "Files or folders to index (.txt .md .html .pdf .jsonl), separated by spaces:",
                default,
                "Index",
                "Only new or changed articles are embedded. You can keep asking questions meanwhile.",
            ),
            chosen,
        )

    def action_index_seeds(self) -> None:
        from qa.core import default_seeds_dir

        self.start_index([default_seeds_dir()])

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections()))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def open_citation(self, citation: Citation) -> None:
        from qa.tui.reader import ReaderScreen

        self.push_screen(ReaderScreen(citation, self.qa.article))

    def help_sections(self) -> list[HelpSection]:
        from qa.tui.dialogs import ConfirmDialog, PathDialog
        from qa.tui.history import ConversationsScreen
        from qa.tui.reader import ReaderScreen
        from qa.tui.widgets import ConversationView, QuestionInput, SourcesPane

        everywhere = [
            *binding_rows(self, QAApp.BINDINGS),
            (
                self.get_key_display(Binding(self.COMMAND_PALETTE_BINDING, "")),
                "Command palette: every action by name",
            ),
            (self.get_key_display(Binding("ctrl+q", "")), "Quit"),
        ]
        return [
            ("Everywhere", everywhere),
            ("Chat", binding_rows(self, ChatScreen.BINDINGS)),
            ("Question box", [("enter", "Ask the question"), *binding_rows(self, QuestionInput.BINDINGS)]),
            (
                "Answers (esc from the question box)",
                [*binding_rows(self, ConversationView.BINDINGS), ("click [n]", "Open that source")],
            ),
            (
                "Sources (tab to reach, or click one)",
                [*binding_rows(self, SourcesPane.BINDINGS), ("↑ ↓", "Move")],
            ),
            ("Reader", [*binding_rows(self, ReaderScreen.BINDINGS), ("↑ ↓ pgup pgdn", "Scroll")]),
            ("Conversations screen", binding_rows(self, ConversationsScreen.BINDINGS)),
            (
                "Help and dialogs",
                [
                    *binding_rows(self, HelpScreen.BINDINGS),
                    ("enter", "Confirm the dialog"),
                    *binding_rows(self, PathDialog.BINDINGS),
                    *binding_rows(self, ConfirmDialog.BINDINGS),
                ],
            ),
        ]

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        chat = self.chat
        yield SystemCommand("Ask a question", "Go to the question box", chat.question_input.focus)
        yield SystemCommand(
            "Re-index the sample articles",
            "Index seeds/ again (only changes are embedded)",
            self.action_index_seeds,
        )
        yield SystemCommand(
            "Index files or folders…", "Add or update articles in the index", self.action_reindex
        )
        yield SystemCommand(
            "Conversations", "Reopen or delete saved conversations", chat.action_conversations
        )
        yield SystemCommand("New conversation", "Start a new conversation", chat.action_new_conversation)
        yield SystemCommand(
            "Copy answer",
            "Copy the selected answer with its sources to the clipboard",
            chat.action_copy_answer,
        )
        yield SystemCommand(
            "Export conversation", "Save the conversation as a Markdown file", chat.action_export
        )
        yield SystemCommand("Help", "Show every key binding", self.action_help)
        yield SystemCommand(
            "Toggle light/dark theme", "Switch between the light and dark themes", self.action_toggle_theme
        )
        yield from super().get_system_commands(screen)
