"""The chat's widgets. They show state and post messages; the screens decide what happens."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from qa.tui import render
from qa.types import Answer, Citation

CITATION_KEYS = [
    Binding(
        str(n),
        f"open_citation({n})",
        "Open source",
        key_display="1-9",
        show=n == 1,
        tooltip="Read the article of source 1-9 of the selected answer",
    )
    for n in range(1, 10)
]


class OpenCitation(Message):
    """The user asked to read the article behind a citation."""

    def __init__(self, citation: Citation) -> None:
        super().__init__()
        self.citation = citation


class QuestionInput(Input):
    """The question box, with the questions asked before on up and down."""

    BINDINGS = [
        Binding("up", "history_previous", "Previous question", show=False),
        Binding("down", "history_next", "Next question", show=False),
    ]

    def __init__(self, history: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(select_on_focus=False, **kwargs)  # type: ignore[arg-type]
        self.history: list[str] = list(history or [])
        self._position = len(self.history)
        self._draft = ""

    def remember(self, question: str) -> None:
        if not self.history or self.history[-1] != question:
            self.history.append(question)
        self._position = len(self.history)
        self._draft = ""

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def action_history_previous(self) -> None:
        if self._position == 0:
            return
        if self._position == len(self.history):
            self._draft = self.value
        self._position -= 1
        self._show(self.history[self._position])

    def action_history_next(self) -> None:
        if self._position >= len(self.history):
            return
        self._position += 1
        self._show(self._draft if self._position == len(self.history) else self.history[self._position])


class AnswerText(Static):
    """The answer, whose `[n]` markers open their citation when clicked."""

    def __init__(self, turn: TurnView, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.turn = turn

    def action_open_citation(self, n: int) -> None:
        self.turn.open_citation(n)


class TurnView(Vertical):
    """One question and its answer (or the wait for it), with how long it took and what it drew on."""

    class Selected(Message):
        def __init__(self, turn: TurnView) -> None:
            super().__init__()
            self.turn = turn

    def __init__(self, question: str, *, show_timings: bool = True) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.answer: Answer | None = None
        self.passages = 0
        self.show_timings = show_timings
        self._question = Static(Content(render.oneline(question)).stylize("bold"), classes="question")
        self._answer = AnswerText(self, classes="answer")
        self._meta = Static("", classes="meta")

    def compose(self):  # type: ignore[no-untyped-def]
        with Horizontal(classes="question-row"):
            yield Static(Content("❯").stylize("bold $text-accent"), classes="prompt")
            yield self._question
        yield self._answer
        yield self._meta

    def on_mount(self) -> None:
        if self.answer is None and not self._answer.content:
            self.set_waiting("Waiting…")

    # -- state ------------------------------------------------------------------------------------

    def set_waiting(self, text: str) -> None:
        self.set_class(True, "-waiting")
        self._answer.update(Content(text).stylize(render.DIM_STYLE))
        self._meta.update("")

    def set_error(self, text: str) -> None:
        self.set_class(False, "-waiting")
        self.set_class(True, "-error")
        self._answer.update(Content(render.oneline(text)).stylize("$text-error"))
        self._meta.update("")

    def set_answer(self, answer: Answer, passages: int) -> None:
        self.answer = answer
        self.passages = passages
        self.set_class(False, "-waiting")
        self.set_class(not answer.found, "-not-found")
        self._answer.update(render.answer_content(answer))
        self._meta.update(self.meta_content())

    def meta_content(self) -> Content:
        assert self.answer is not None
        answer = self.answer
        parts = []
        if not answer.found:
            parts.append(
                ("No answer in the articles: the closest passages are in the sources", "$text-warning")
            )
            parts.append(("  ·  ", render.DIM_STYLE))
        if self.show_timings:
            parts.append((render.seconds(answer.timings_ms.get("total")), render.DIM_STYLE))
            parts.append((" · ", render.DIM_STYLE))
        parts.append((f"drew on {render.plural(self.passages, 'passage')}", render.DIM_STYLE))
        parts.append((" · ", render.DIM_STYLE))
        parts.append((render.plural(len(answer.citations), "source"), render.DIM_STYLE))
        return Content.assemble(*parts)

    def citation(self, n: int) -> Citation | None:
        if self.answer is None:
            return None
        return next((c for c in self.answer.citations if c.n == n), None)

    def open_citation(self, n: int) -> None:
        citation = self.citation(n)
        if citation is not None:
            self.post_message(OpenCitation(citation))

    def on_click(self) -> None:
        self.post_message(self.Selected(self))


class ConversationView(VerticalScroll):
    """The questions and answers of this conversation; one answer is selected."""

    can_focus = True

    BINDINGS = [
        Binding("up,k", "select(-1)", "Previous answer"),
        Binding("down,j", "select(1)", "Next answer"),
        *CITATION_KEYS,
    ]

    selected: reactive[int] = reactive(-1, init=False)

    class SelectionChanged(Message):
        def __init__(self, turn: TurnView | None) -> None:
            super().__init__()
            self.turn = turn

    def on_mount(self) -> None:
        self.border_title = "Conversation"

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(
            Content.assemble(
                ("Ask a question about your articles below and press enter.\n", "bold"),
                (
                    "Answers cite their sources: press esc, then 1-9 to read a cited article, "
                    "or click a [n] marker.",
                    render.DIM_STYLE,
                ),
            ),
            id="intro",
        )

    @property
    def turns(self) -> list[TurnView]:
        return list(self.query(TurnView))

    @property
    def selected_turn(self) -> TurnView | None:
        turns = self.turns
        return turns[self.selected] if 0 <= self.selected < len(turns) else None

    def add_turn(self, turn: TurnView) -> None:
        self.query_one("#intro").display = False
        self.mount(turn)
        self.call_after_refresh(self.select_turn, turn)

    async def clear_turns(self) -> None:
        await self.query(TurnView).remove()
        self.query_one("#intro").display = True
        self.selected = -1
        self.post_message(self.SelectionChanged(None))

    def select_turn(self, turn: TurnView) -> None:
        turns = self.turns
        if turn in turns:
            index = turns.index(turn)
            if index == self.selected:
                self.mutate_reactive(ConversationView.selected)
            self.selected = index

    def watch_selected(self, selected: int) -> None:
        turn = None
        for index, each in enumerate(self.turns):
            each.set_class(index == selected, "-selected")
            if index == selected:
                turn = each
        if turn is not None:
            self.reveal(turn)
        self.post_message(self.SelectionChanged(turn))

    def reveal(self, turn: TurnView) -> None:
        """Scroll the turn into view (its top, when it is taller than the view) once it is laid out."""

        def scroll() -> None:
            self.scroll_to_widget(
                turn, animate=False, top=turn.outer_size.height > self.scrollable_content_region.height
            )

        self.call_after_refresh(scroll)

    def action_select(self, step: int) -> None:
        turns = self.turns
        if turns:
            self.selected = max(0, min(len(turns) - 1, (self.selected if self.selected >= 0 else 0) + step))

    def action_open_citation(self, n: int) -> None:
        turn = self.selected_turn
        if turn is None:
            return
        if turn.citation(n) is None:
            self.notify(f"The selected answer has no source [{n}].", severity="warning", timeout=3)
            return
        turn.open_citation(n)

    @on(TurnView.Selected)
    def _turn_clicked(self, event: TurnView.Selected) -> None:
        self.select_turn(event.turn)


class SourcesPane(OptionList):
    """The citations of the selected answer: number, title, date, source, snippet."""

    BINDINGS = [
        Binding("enter", "select", "Open source", tooltip="Read the article of the highlighted source"),
        *CITATION_KEYS,
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.citations: list[Citation] = []
        self.border_title = "Sources"

    def show(self, answer: Answer | None, cwd: Path | None = None) -> None:
        self.clear_options()
        self.citations = list(answer.citations) if answer else []
        if answer is None:
            self.border_title = "Sources"
            self.border_subtitle = ""
        else:
            self.border_title = "Sources" if answer.found else "Closest passages"
            self.border_subtitle = "enter or 1-9 to read" if self.citations else ""
        if not self.citations:
            self.add_option(Option(Content("The sources of the selected answer appear here."), disabled=True))
            return
        width = self.scrollable_content_region.width - 1 or 74
        for index, citation in enumerate(self.citations):
            if index:
                self.add_option(None)
            self.add_option(Option(render.source_option(citation, cwd, width), id=f"c{citation.n}"))
        self.highlighted = 0

    def action_open_citation(self, n: int) -> None:
        citation = next((c for c in self.citations if c.n == n), None)
        if citation is not None:
            self.post_message(OpenCitation(citation))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and event.option.id.startswith("c"):
            self.action_open_citation(int(event.option.id[1:]))


class StatusBar(Horizontal):
    """What the app is doing (loading, answering, indexing), with the indexing progress."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="status-text")
        yield ProgressBar(total=None, show_eta=False, id="index-progress")

    def set_text(self, text: Content | str, *, busy: bool = False) -> None:
        self.query_one("#status-text", Static).update(text)
        self.set_class(busy, "-busy")

    def set_progress(self, done: int | None, total: int | None) -> None:
        bar = self.query_one(ProgressBar)
        if done is None:
            self.remove_class("-indexing")
            return
        self.add_class("-indexing")
        bar.update(total=max(total or 1, 1), progress=done)


class WelcomeView(Vertical):
    """Shown when the index is empty or missing: how to add articles, and the sample articles."""

    class IndexSeeds(Message):
        """Index the sample articles in seeds/."""

    def __init__(self, index_dir: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.index_dir = index_dir

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Content("Welcome to qa").stylize("bold $text-primary"), id="welcome-title")
        yield Static(
            Content.assemble(
                "Ask questions about your own articles and get short answers that cite the exact passage.\n\n",
                ("No articles are indexed yet", "bold"),
                f" (index folder: {render.display_source(str(self.index_dir))}).\n\n",
                "To add your own (.txt .md .html .pdf .jsonl), quit and run",
            ),
            classes="welcome-text",
        )
        yield Static(
            Content("qa index ~/path/to/articles").stylize("bold $text-accent"), id="welcome-command"
        )
        yield Static(
            Content("or press ctrl+r to index a folder from here. To try qa now:"), classes="welcome-text"
        )
        yield Button("Index the sample articles (seeds/)", id="index-seeds", variant="primary")

    @on(Button.Pressed, "#index-seeds")
    def _index_seeds(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.IndexSeeds())
