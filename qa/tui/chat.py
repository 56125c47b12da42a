"""The chat screen: the conversation, the sources of the selected answer, the question box."""

from __future__ import annotations

import contextvars
import gc
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, suppress
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from qa.conversations import Turn
from qa.core import followup_context
from qa.errors import QAError
from qa.export import conversation_to_markdown, default_file_name, turn_to_markdown
from qa.text import plural
from qa.tui import render
from qa.tui.widgets import (
    ConversationView,
    OpenCitation,
    QuestionInput,
    SourcesPane,
    StatusBar,
    TurnView,
    WelcomeView,
)
from qa.types import Answer

if TYPE_CHECKING:
    from collections.abc import Callable

    from qa.core import QA
    from qa.tui.app import QAApp

# An answer quicker than this goes on the screen with its question in one frame; a slower one shows its
# question with "Answering…" at this point. Drawing that wait for every answer cost two repaints more,
# which on 2 cores also slowed the answer itself (bench/tui.py, bench/results.md). Until then the whole
# screen holds still (`_unshown`): the emptied box went out a frame ahead of the answer, drawn while the
# answer started, and the answer's thread waited for the GIL (its first step took 1.5-2 ms, not 0.2).
SHOW_WAIT_AFTER = 0.1  # seconds
# The garbage collector waits from the start of an answer until it and its sources are drawn, and collects
# in the idle time after. Drawing makes objects by the ten thousand: per question it ran about 12 gen0
# (~0.2 ms), one gen1 (2-3 ms) and a tenth of a gen2 (~70 ms) collection, some inside the answer
# (bench/tui.py with gc.callbacks). It waits at most:
GC_PAUSE_LIMIT = 2.0  # seconds


class ChatScreen(Screen[None]):
    """Questions go in at the bottom; answers queue until the model is ready, then arrive in order."""

    app: QAApp  # type: ignore[assignment]

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    AUTO_FOCUS = "#question"

    BINDINGS = [
        Binding("escape", "toggle_focus", "Browse", tooltip="Move between the question box and the answers"),
        Binding("ctrl+y", "copy_answer", "Copy", tooltip="Copy the selected answer with its sources"),
        Binding("ctrl+s", "export", "Export", tooltip="Export the conversation to a Markdown file"),
        Binding("ctrl+o", "conversations", "Chats", tooltip="Saved conversations: reopen or delete them"),
        Binding("ctrl+n", "new_conversation", "New chat", show=False, tooltip="Start a new conversation"),
    ]

    class AnswerReady(Message):
        def __init__(self, turn: TurnView, answer: Answer) -> None:
            super().__init__()
            self.turn = turn
            self.answer = answer

    class AnswerFailed(Message):
        def __init__(self, turn: TurnView, error: str) -> None:
            super().__init__()
            self.turn = turn
            self.error = error

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.pending: deque[TurnView] = deque()
        self.asking: TurnView | None = None
        self._held: ExitStack | None = None  # the screen's updates, held while `_unshown` is set
        self._gc_paused = False
        self._unshown_turn: TurnView | None = None
        self.conversation_id: int | None = None
        self._welcome_shown = False
        self._typing_to_box = False  # typing while browsing moved the focus to the question box
        self._asker: ThreadPoolExecutor | None = None
        self._typed = ""  # what the question box holds, for `_prepare` on the asking thread
        self._preparing = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Header()
        with Horizontal(id="panes"):
            with Vertical(id="conversation-frame") as frame:
                frame.border_title = "Conversation"
                yield ConversationView(id="conversation")
            yield SourcesPane(id="sources")
        yield WelcomeView(self.app.index_dir, id="welcome")
        yield StatusBar(id="statusbar")
        yield QuestionInput(
            history=self.app.conversations.recent_questions(),
            placeholder="Ask a question about your articles (↑ ↓ for earlier questions)",
            id="question",
        )
        yield Footer()

    def on_resize(self, event: events.Resize) -> None:
        # Every key of the footer fits 80 columns only without the spaces around each (and 70 with "Index").
        self.query_one(Footer).compact = event.size.width < 100

    def on_unmount(self) -> None:
        self._unshown = None
        self._resume_gc()
        if self._asker is not None:
            self._asker.shutdown(wait=False, cancel_futures=True)

    def on_mount(self) -> None:
        self.sources.show(None)
        app = self.app
        for name in ("phase", "indexing", "stats", "error", "index_progress"):
            self.watch(app, name, self._app_changed, init=False)
        self._app_changed()

    # -- parts --------------------------------------------------------------------------------------
    # Found once: the screen's parts never change, and a query walked the DOM several times per answer.

    @cached_property
    def conversation(self) -> ConversationView:
        return self.query_one(ConversationView)

    @cached_property
    def sources(self) -> SourcesPane:
        return self.query_one(SourcesPane)

    @cached_property
    def question_input(self) -> QuestionInput:
        return self.query_one(QuestionInput)

    @cached_property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    # -- app state ----------------------------------------------------------------------------------

    def _app_changed(self, *_: object) -> None:
        app = self.app
        stats = app.stats
        empty = app.phase == "empty" and not self.conversation.turns
        self.set_class(empty, "-empty")
        self.query_one(WelcomeView).display = empty
        self.query_one("#panes").display = not empty
        if empty != self._welcome_shown:
            self._welcome_shown = empty
            # A new user's next step is the button; once there are articles, it is the question.
            (self.query_one("#index-seeds") if empty else self.question_input).focus()
        if stats is not None:
            self.sub_title = (
                f"{plural(stats.articles, 'article')} · {plural(stats.chunks, 'chunk')} · {stats.model}"
            )
        else:
            self.sub_title = {"empty": "no articles indexed", "error": "index unavailable"}.get(
                app.phase, "opening the index…"
            )
        self.title = "qa"
        self._update_status()
        self._pump()

    def _update_status(self) -> None:
        app = self.app
        bar = self.status
        if app.indexing:
            done, total = app.index_progress
            bar.set_progress(done, total)
            ready = app.phase == "ready"
            bar.set_text("Indexing… questions still work" if ready else "Indexing the articles…", busy=True)
            return
        bar.set_progress(None, None)
        waiting = len(self.pending) + (1 if self.asking else 0)
        if app.phase in ("starting", "loading"):
            text = "Loading the model and the index…"
            if waiting:
                text += f" {plural(waiting, 'question')} will be answered when it is ready"
            else:
                text += " you can type your question now"
            bar.set_text(text, busy=True)
        elif app.phase == "error":
            bar.set_text(Content(render.oneline(app.error)).stylize("$text-error"))
        elif app.phase == "empty":
            bar.set_text("No articles indexed yet: press ctrl+r or use the button above to index some")
        elif self.asking is not None and self._unshown is None:
            more = f" ({len(self.pending)} more waiting)" if self.pending else ""
            bar.set_text(Content(f"Answering: {render.oneline(self.asking.question)}{more}"), busy=True)
        else:
            bar.set_text(
                Content.assemble(
                    ("Ready", "bold $text-success"),
                    ("  ·  esc: browse answers  ·  1-9: read a source  ·  F1: help", render.DIM_STYLE),
                )
            )

    # -- asking -------------------------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    def _submitted(self, event: Input.Submitted) -> None:
        question = " ".join(event.value.split())
        if not question:
            return
        self.question_input.remember(question)  # the box emptied itself on enter
        self.ask(question)

    def ask(self, question: str) -> TurnView:
        turn = self.conversation.new_turn(question, show_timings=self.app.show_timings)
        self.pending.append(turn)
        self._pump()
        return turn

    @property
    def _unshown(self) -> TurnView | None:
        """`asking`, while it is not on the screen yet (at most SHOW_WAIT_AFTER): meanwhile the screen holds
        still, and what changed goes out with the answer."""
        return self._unshown_turn

    @_unshown.setter
    def _unshown(self, turn: TurnView | None) -> None:
        self._unshown_turn = turn
        if turn is not None and self._held is None:
            self._held = ExitStack()
            self._held.enter_context(self.app.batch_update())
        elif turn is None and self._held is not None:
            held, self._held = self._held, None
            held.close()
            self.check_idle()  # the held changes are drawn once this screen is idle

    def _put_on_screen(self, turn: TurnView) -> None:
        """Add a turn to the conversation (if not there yet), below the one being answered if that is not."""
        if self.conversation.shows(turn):
            return
        if self._unshown is not None and self._unshown is not turn:
            self._show_unshown()
        self.conversation.add_turn(turn)

    def _show_unshown(self, turn: TurnView | None = None) -> None:
        """The question being answered goes on the screen, waiting (`turn`: only if it is that one)."""
        if self._unshown is None or (turn is not None and turn is not self._unshown):
            return
        unshown, self._unshown = self._unshown, None
        unshown.set_waiting("Answering…")
        self.conversation.add_turn(unshown)
        self._update_status()

    def _followup_context(self, turn: TurnView) -> tuple[str | None, list[str]]:
        """What a follow-up is read with: the question it leans on and the articles cited since."""
        turns = self.conversation.turns
        index = turns.index(turn) if turn in turns else len(turns)
        return followup_context([(t.question, t.answer) for t in turns[:index] if t.answer is not None])

    def _pump(self) -> None:
        """Start the next waiting question if the index is ready; tell waiting questions why they wait."""
        app = self.app
        if self.asking is None and self.pending:
            if app.phase == "ready":
                turn = self.pending.popleft()
                self.asking = turn
                if self.conversation.shows(turn):  # it waited on the screen for the model or the question
                    turn.set_waiting("Answering…")
                else:
                    self._unshown = turn
                    self.set_timer(SHOW_WAIT_AFTER, partial(self._show_unshown, turn))
                self._pause_gc()
                self._ask(turn, *self._followup_context(turn))
            elif app.phase in ("empty", "error") and not app.indexing:
                reason = (
                    "No articles are indexed yet: index some first (ctrl+r, or `qa index PATH` in a shell)."
                    if app.phase == "empty"
                    else f"The index could not be opened: {app.error}"
                )
                while self.pending:
                    turn = self.pending.popleft()
                    self._put_on_screen(turn)
                    turn.set_error(reason)
        if app.phase == "ready":
            waiting = "Queued: answered after the question before it…"
        elif app.indexing:
            waiting = "Waiting for the index to be built…"
        else:
            waiting = "Waiting for the model to load…"
        for turn in self.pending:
            self._put_on_screen(turn)
            turn.set_waiting(waiting)
        self._update_status()

    def _ask(self, turn: TurnView, context: str | None, articles: list[str]) -> None:
        """Answer on the asking thread, started now: a Textual worker would start only after the event
        loop's next turn, which first lays out and paints the emptied question box (~3-5 ms)."""
        future = self._on_asking_thread(self._answer, self.app.qa, turn, context, articles)
        future.add_done_callback(partial(self._answer_lost, turn))

    def _on_asking_thread(self, function: Callable[..., None], *args: object) -> Future[None]:
        if self._asker is None:
            self._asker = ThreadPoolExecutor(1, thread_name_prefix="qa-ask")
        # In the app's context, as a worker would run (widgets find their app through it).
        return self._asker.submit(contextvars.copy_context().run, function, *args)

    @on(Input.Changed, "#question")
    def _question_changed(self, event: Input.Changed) -> None:
        """Search for the question while it is typed, so that enter has only its answer left to compose.

        On the asking thread, in turn with the questions asked: a search never holds up a question asked
        before it, and a question asked next waits at most for the search under way (12-20 ms).
        """
        self._typed = event.value
        app = self.app
        # Not while indexing: the question is searched on enter, not on every key against the indexer.
        if not self._preparing and app.phase == "ready" and not app.indexing and event.value.strip():
            self._preparing = True
            self._on_asking_thread(self._prepare, app.qa)

    def _prepare(self, qa: QA) -> None:
        """On the asking thread: search for what is in the question box. If it changed meanwhile, the
        search for the new text is queued behind any question asked meanwhile, which goes first."""
        typed = self._typed
        with suppress(Exception):  # the question, once asked, reports what went wrong
            qa.prepare(typed)
        self._preparing = False
        if self._typed != typed and self._typed.strip() and not self._preparing:
            self._preparing = True
            with suppress(RuntimeError):  # the screen has gone, and its thread with it
                self._on_asking_thread(self._prepare, qa)

    def _answer(self, qa: QA, turn: TurnView, context: str | None, articles: list[str]) -> None:
        """On the asking thread: the answer or the error goes back to the screen as a message."""
        try:
            answer = qa.ask(turn.question, context=context, context_articles=articles)
        except QAError as exc:
            self.post_message(self.AnswerFailed(turn, str(exc)))
        except Exception as exc:
            self.post_message(self.AnswerFailed(turn, f"unexpected error: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(self.AnswerReady(turn, answer))

    def _answer_lost(self, turn: TurnView, future: Future[None]) -> None:
        """What escaped `_answer` (it reports errors itself) still ends the question, not the queue."""
        if not future.cancelled() and (error := future.exception()) is not None:
            self.post_message(self.AnswerFailed(turn, f"unexpected error: {type(error).__name__}: {error}"))

    @on(AnswerReady)
    def _answer_ready(self, message: AnswerReady) -> None:
        turn, answer = message.turn, message.answer
        if turn is not self.asking:  # asked in a conversation the user has since left
            return
        turn.set_answer(answer, len(answer.passages))
        if self._unshown is turn:  # question and answer go on the screen together
            self._unshown = None
            self.conversation.add_turn(turn)
        else:
            self.conversation.turn_changed(turn)
        self._save(turn)
        self._done(turn)

    @on(AnswerFailed)
    def _answer_failed(self, message: AnswerFailed) -> None:
        if message.turn is not self.asking:
            return
        self._show_unshown(message.turn)
        message.turn.set_error(message.error)
        self._done(message.turn)
        self.call_after_refresh(self._resume_gc)

    def _pause_gc(self) -> None:
        if gc.isenabled():
            gc.disable()
            self._gc_paused = True
            self.set_timer(GC_PAUSE_LIMIT, self._resume_gc)

    def _resume_gc(self) -> None:
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()

    def _done(self, turn: TurnView) -> None:
        if self.asking is turn:
            self.asking = None
        if self.conversation.selected_turn is turn:
            self._show_sources()
            self.conversation.reveal(turn)
        self._pump()

    def _save(self, turn: TurnView) -> None:
        assert turn.answer is not None
        store = self.app.conversations
        record = Turn(question=turn.question, answer=turn.answer.to_dict(), passages=turn.passages)
        if self.conversation_id is None or store.get(self.conversation_id) is None:
            self.conversation_id = store.create(turn.question)
        store.add_turn(self.conversation_id, record)

    # -- selection and citations ---------------------------------------------------------------------

    @on(ConversationView.SelectionChanged)
    def _selection_changed(self, event: ConversationView.SelectionChanged) -> None:
        self._show_sources()

    def _show_sources(self) -> None:
        """The sources pane shows the selected answer's; a new answer's once the frame that draws it is out.

        Laying out and drawing the sources took a third of that frame (bench/tui.py): the answer comes
        first, its sources a frame later (`_answer_drawn`).
        """
        turn = self.conversation.selected_turn
        if turn is not None and turn.answer is not None and not turn.answer_drawn:
            return
        self.sources.show(turn.answer if turn else None)

    @on(TurnView.AnswerDrawn)
    def _answer_drawn(self, event: TurnView.AnswerDrawn) -> None:
        self._show_sources()  # the selected answer's (the same answer again is not redrawn)
        self.call_after_refresh(self._resume_gc)  # once the sources are drawn too

    @on(OpenCitation)
    def _open_citation(self, event: OpenCitation) -> None:
        event.stop()
        self.app.open_citation(event.citation)

    @on(WelcomeView.IndexSeeds)
    def _index_seeds(self) -> None:
        self.app.action_index_seeds()

    def on_paste(self, event: events.Paste) -> None:
        """Pasting while the answers or sources have the focus goes to the question box, as typing does."""
        if self.focused in (self.conversation, self.sources):
            event.stop()
            self.question_input.focus()
            self.question_input.post_message(events.Paste(event.text))

    def on_key(self, event: events.Key) -> None:
        """Typing while the answers or sources have the focus goes to the question box."""
        if not (event.is_printable and event.character):
            return
        if self._typing_to_box:
            # Keys sent to the answers before the focus reached the box (typed in one burst) are typing
            # too, bound ones (1-9, j, k, ?) included. (In the box, typed keys never reach the screen.)
            event.stop()
            self.question_input.insert_text_at_cursor(event.character)
            return
        if event.key in self.active_bindings:  # bound keys (1-9, j, k, ?) keep their meaning
            return
        if self.focused in (self.conversation, self.sources):
            event.stop()
            self._typing_to_box = True
            self.question_input.focus()
            self.question_input.insert_text_at_cursor(event.character)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if event.widget in (self.conversation, self.sources):  # browsing again: bound keys act
            self._typing_to_box = False

    # -- actions ------------------------------------------------------------------------------------

    def action_toggle_focus(self) -> None:
        if self.focused is self.question_input:
            conversation = self.conversation
            conversation.focus()
            if conversation.selected < 0 and conversation.turns:
                conversation.selected = len(conversation.turns) - 1
        else:
            self.question_input.focus()

    def _records(self) -> list[Turn]:
        return [
            Turn(question=t.question, answer=t.answer.to_dict(), passages=t.passages)
            for t in self.conversation.turns
            if t.answer is not None
        ]

    def action_copy_answer(self) -> None:
        turn = self.conversation.selected_turn
        if turn is None or turn.answer is None:
            self.notify("Select an answer first (esc, then ↑ ↓).", severity="warning")
            return
        record = Turn(question=turn.question, answer=turn.answer.to_dict(), passages=turn.passages)
        self.app.copy_to_clipboard(turn_to_markdown(record))
        self.notify(f"Copied the answer and {plural(len(turn.answer.citations), 'source')}.")

    def action_export(self) -> None:
        records = self._records()
        if not records:
            self.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        from qa.tui.dialogs import PathDialog

        default = Path.cwd() / default_file_name(records[0].question)

        def chosen(value: str | None) -> None:
            if value:
                self.export_to(Path(value).expanduser(), records)

        self.app.push_screen(
            PathDialog("Export the conversation as Markdown", "File", str(default), "Export"), chosen
        )

    def export_to(self, path: Path, records: list[Turn] | None = None) -> Path | None:
        records = records if records is not None else self._records()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(conversation_to_markdown(records), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc.strerror or exc}", severity="error")
            return None
        self.notify(f"Exported {plural(len(records), 'answer')} to {path}")
        return path

    def action_conversations(self) -> None:
        from qa.tui.history import ConversationsScreen

        def chosen(conversation_id: int | None) -> None:
            if conversation_id is not None:
                self.run_worker(self.open_conversation(conversation_id), exclusive=True, group="open")

        self.app.push_screen(ConversationsScreen(self.app.conversations, self.conversation_id), chosen)

    async def action_new_conversation(self) -> None:
        await self.start_new_conversation()
        self.question_input.focus()

    async def start_new_conversation(self) -> None:
        self.pending.clear()
        self.asking = self._unshown = None
        self.conversation_id = None
        await self.conversation.clear_turns()
        self._app_changed()

    async def open_conversation(self, conversation_id: int) -> None:
        store = self.app.conversations
        info = store.get(conversation_id)
        if info is None:
            return
        await self.start_new_conversation()
        self.conversation_id = conversation_id
        for record in store.turns(conversation_id):
            turn = TurnView(record.question, show_timings=self.app.show_timings)
            self.conversation.add_turn(turn)
            turn.set_answer(record.to_answer(), record.passages)
        self.notify(f"Opened “{info.title}”", timeout=3)
        self.question_input.focus()
