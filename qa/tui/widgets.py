"""The chat's widgets. They show state and post messages; the screens decide what happens."""

from __future__ import annotations

from pathlib import Path

from textual import events, on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from qa.text import plural
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

    # The text's width is the box's virtual width, which Input lays out anew on every change: each key
    # typed, and the box emptied on enter, laid the whole screen out again and redrew the scroll bars and
    # both panes while the answer was computed (~4-12 ms of the app's thread, bench/tui.py). The box's
    # size never depends on its text.
    virtual_size = reactive(Size(0, 0), layout=False)

    def __init__(self, history: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(select_on_focus=False, **kwargs)  # type: ignore[arg-type]
        self.history: list[str] = list(history or [])
        self._position = len(self.history)
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        """Enter submits here, in the order the keys came, and empties the box for the next question.

        As Input's binding, enter ran only once it had bubbled up to the app, after the keys queued
        behind it had been typed into the box: a question typed right after enter (keys arriving in
        one read, over ssh or from a script) was glued to the one before. Other keys go on to Input.
        """
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()

    async def action_submit(self) -> None:
        """Submit the question and empty the box (also when enter comes by Input's binding: an enter
        sent to the answers before a burst of typing moved the focus here)."""
        value, self.value = self.value, ""
        self.post_message(self.Submitted(self, value))

    def _on_paste(self, event: events.Paste) -> None:
        """A pasted question goes in on one line (Input keeps only the first line of a paste)."""
        event.stop()
        event.prevent_default()
        if text := " ".join(event.text.split()):
            self.insert_text_at_cursor(text)

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


class TurnView(Widget):
    """One question and its answer (or the wait for it), with how long it took and what it drew on.

    One widget that lays its lines out itself, not a container of five: it goes on the screen whole in
    the frame it is mounted in (a container's parts are mounted a frame or two after it), and each
    repaint has a sixth of the widgets to style, place and render (bench/tui.py).
    """

    INDENT = 2  # the answer and the meta line sit under the question, after the "❯ " prompt

    class Selected(Message):
        def __init__(self, turn: TurnView) -> None:
            super().__init__()
            self.turn = turn

    class AnswerDrawn(Message):
        """The turn's answer went on the screen (its first frame is out)."""

        def __init__(self, turn: TurnView) -> None:
            super().__init__()
            self.turn = turn

    def __init__(self, question: str, *, show_timings: bool = True) -> None:
        super().__init__(classes="turn")
        self.question = question
        self.answer: Answer | None = None
        self.passages = 0
        self.show_timings = show_timings
        self.body = Content("Waiting…").stylize(render.DIM_STYLE)  # the answer, or why there is none yet
        self.meta = Content("")
        self._lines: tuple[int, list[Content]] | None = None  # (width, lines) last laid out
        self.answer_drawn = False  # whether a frame has shown `answer`
        self.drawn = False  # whether a frame has shown the turn

    # -- state ------------------------------------------------------------------------------------

    def reuse(self, question: str, *, show_timings: bool) -> None:
        """A spare turn, never shown, takes a question (see ConversationView.new_turn)."""
        self.question, self.show_timings, self._lines = question, show_timings, None

    def _show(self, body: Content, meta: Content) -> None:
        self.body, self.meta, self._lines = body, meta, None
        self.refresh(layout=True)

    def set_waiting(self, text: str) -> None:
        self.set_class(True, "-waiting")
        self._show(Content(text).stylize(render.DIM_STYLE), Content(""))

    def set_error(self, text: str) -> None:
        self.set_class(False, "-waiting")
        self.set_class(True, "-error")
        self._show(Content(render.oneline(text)).stylize("$text-error"), Content(""))

    def set_answer(self, answer: Answer, passages: int) -> None:
        self.answer = answer
        self.passages = passages
        self.answer_drawn = False
        self.set_class(False, "-waiting")
        self.set_class(not answer.found, "-not-found")
        self._show(render.answer_content(answer), self.meta_content())

    def meta_content(self) -> Content:
        assert self.answer is not None
        answer = self.answer
        parts = []
        if not answer.found:
            parts.append(("No answer in the articles", "$text-warning"))
            parts.append(("  ·  ", render.DIM_STYLE))
        if self.show_timings:
            parts.append((render.seconds(answer.timings_ms.get("total")), render.DIM_STYLE))
            parts.append((" · ", render.DIM_STYLE))
        parts.append((f"drew on {plural(self.passages, 'passage')}", render.DIM_STYLE))
        parts.append((" · ", render.DIM_STYLE))
        parts.append((plural(len(answer.citations), "source"), render.DIM_STYLE))
        return Content.assemble(*parts)

    # -- layout -----------------------------------------------------------------------------------

    def lines(self, width: int) -> list[Content]:
        """The turn's lines at `width` cells: "❯ question", then the answer and the meta line indented."""
        if self._lines is not None and self._lines[0] == width:
            return self._lines[1]
        inner = max(width - self.INDENT, 8)
        question = Content(render.oneline(self.question)).stylize("bold").wrap(inner)
        prompt = Content("❯ ").stylize("bold $text-accent")
        lines = [prompt + question[0], *(line.pad_left(self.INDENT) for line in question[1:])]
        for part in (self.body, self.meta):
            if part:
                lines.extend(line.pad_left(self.INDENT) for line in part.wrap(inner))
        self._lines = (width, lines)
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Content:
        self.drawn = True
        if self.answer is not None and not self.answer_drawn:
            # Rendered for the frame that shows the answer: what waits on that frame starts after it.
            self.answer_drawn = True
            self.post_message(self.AnswerDrawn(self))
        return Content("\n").join(self.lines(self.size.width))

    # -- citations ----------------------------------------------------------------------------------

    def citation(self, n: int) -> Citation | None:
        if self.answer is None:
            return None
        return next((c for c in self.answer.citations if c.n == n), None)

    def open_citation(self, n: int) -> None:
        citation = self.citation(n)
        if citation is not None:
            self.post_message(OpenCitation(citation))

    def action_open_citation(self, n: int) -> None:
        """A click on an `[n]` marker in the answer."""
        self.open_citation(n)

    def on_click(self) -> None:
        self.post_message(self.Selected(self))


SPARE_AFTER = 0.5  # seconds after a turn is shown, the next spare turn is mounted


class ConversationView(VerticalScroll):
    """The questions and answers of this conversation; one answer is selected."""

    can_focus = True
    # Only the background under the turns, drawn without styling each line (the frame around it is
    # another widget, #conversation-frame).
    BLANK = True

    BINDINGS = [
        # Short in the footer (long ones pushed the other keys off it); the help shows the tooltip.
        Binding("up,k", "select(-1)", "Previous", tooltip="Previous answer (a long one scrolls first)"),
        Binding("down,j", "select(1)", "Next", tooltip="Next answer (a long one scrolls first)"),
        *CITATION_KEYS,
    ]

    selected: reactive[int] = reactive(-1, init=False)

    class SelectionChanged(Message):
        def __init__(self, turn: TurnView | None) -> None:
            super().__init__()
            self.turn = turn

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

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._spare: TurnView | None = None  # mounted ahead, hidden, for the next question

    def on_mount(self) -> None:
        self._prepare_spare()

    @property
    def turns(self) -> list[TurnView]:
        """The turns on the screen. Its own children, not a query of every descendant: read several times
        per answer. A hidden one is the spare, or the turn it became, not shown yet."""
        return [child for child in self.children if isinstance(child, TurnView) and child.display]

    def shows(self, turn: TurnView) -> bool:
        return turn.parent is self and turn.display

    def new_turn(self, question: str, *, show_timings: bool = True) -> TurnView:
        """A turn for a new question, not on the screen yet: the spare if there is one, else a new one.

        Mounting the turn when its answer came took 0.5-0.6 ms more of the answer's handler than showing
        a spare (bench/tui.py with a step trace); the spare is mounted while the app is idle, between
        questions, so showing it is a change of its display only.
        """
        turn, self._spare = self._spare, None
        if turn is None or not turn.is_attached:
            return TurnView(question, show_timings=show_timings)
        turn.reuse(question, show_timings=show_timings)
        return turn

    def _prepare_spare(self) -> None:
        """Mount a hidden turn for the next question, unless one is there or waits to be shown."""
        if self._spare is None and all(
            child.display for child in self.children if isinstance(child, TurnView)
        ):
            spare = self._spare = TurnView("")
            spare.display = False
            spare.add_class("-selected", update=False)  # how it will be shown
            self.mount(spare)

    @property
    def selected_turn(self) -> TurnView | None:
        turns = self.turns
        return turns[self.selected] if 0 <= self.selected < len(turns) else None

    def add_turn(self, turn: TurnView) -> None:
        """Show the turn at the end (mounted, or the spare shown), selected, and keep the view at the end."""
        self.query_one("#intro").display = False
        turns = self.turns
        if turn.parent is self:  # the spare, mounted and styled already
            turn.display = True
        else:
            # Styled as selected from the start: selected once mounted, it was styled a second time (~0.5 ms).
            turn.add_class("-selected", update=False)
            self.mount(turn, before=self._spare)  # the spare stays last
        # Laid out in the next frame: left to the new turn to ask for it once mounted, that frame went out
        # without it (restyling the turn before it) and the answer waited ~13 ms for the one after.
        self.screen.refresh(layout=True, repaint=False)
        if self.max_scroll_y > 0:
            # Anchored, the view is scrolled to the new turn in the same layout pass that places it: one
            # repaint per answer, not a second one to scroll (bench/tui.py). Not before the turns fill the
            # view: an anchor would then push them to its bottom. Not for a turn taller than the view: it
            # would be drawn at its bottom, then jump to its top. (Selecting it reveals it, which scrolls
            # only if it is not in view: the turn that first overflows, a tall one, shown from its top.)
            self.anchor(not (turns and self._taller_than_view(turn, turns[-1])))
        self.select_turn(turn)
        # The next spare once this answer and its sources are drawn (mounting it then would delay them).
        self.set_timer(SPARE_AFTER, self._prepare_spare)

    def turn_changed(self, turn: TurnView) -> None:
        """A turn on the screen got its answer: if it is the newest and now taller than the view, the view
        stops following the end, so the turn is shown from its top instead of its bottom (see add_turn)."""
        turns = self.turns
        if self.is_anchored and turns and turn is turns[-1] and self._taller_than_view(turn, turn):
            self.anchor(False)

    def _taller_than_view(self, turn: TurnView, laid_out: TurnView) -> bool:
        """Whether `turn`, not yet laid out, will be taller than the view; `laid_out` is one that is."""
        view = self.scrollable_content_region
        lines = turn.lines(view.width - laid_out.styles.gutter.width)
        return len(lines) + laid_out.styles.margin.top > view.height

    async def clear_turns(self) -> None:
        await self.query(TurnView).remove()
        self._spare = None
        self._prepare_spare()
        self.anchor(False)
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
        turn = self.selected_turn
        if turn is not None:
            turn.set_class(True, "-selected")
            self.reveal(turn)
        # A turn on the screen that lost the selection is restyled a frame later: the frame that shows a new
        # answer then draws the answer alone (restyling the turn before it took about 2.5 ms of it,
        # bench/tui.py). One not drawn yet (a reopened conversation's turns, added together) is restyled now.
        self._unselect_others(only_undrawn=True)
        self.call_after_refresh(self._unselect_others)
        self.post_message(self.SelectionChanged(turn))

    def _unselect_others(self, *, only_undrawn: bool = False) -> None:
        """Turns other than the selected one lose its look (`only_undrawn`: those no frame has shown yet)."""
        selected = self.selected_turn
        for turn in self.turns:
            if turn is not selected and turn.has_class("-selected") and not (only_undrawn and turn.drawn):
                turn.set_class(False, "-selected")

    def reveal(self, turn: TurnView) -> None:
        """Scroll the turn into view (its top, when it is taller than the view) once it is laid out.

        Checked after the next refresh and the one after: a turn's new content can be laid out a frame
        after the refresh that follows its update, and a scroll is clamped to the layout it sees.
        """

        def scroll(checks_left: int) -> None:
            view = self.scrollable_content_region
            tall = turn.outer_size.height > view.height
            if tall or not view.contains_region(turn.region):  # a scroll is a repaint: only when needed
                self.scroll_to_widget(turn, animate=False, top=tall)
            if checks_left > 1:
                self.call_after_refresh(scroll, checks_left - 1)

        self.call_after_refresh(scroll, 2)

    def action_select(self, step: int) -> None:
        """The next or previous answer; within a selected answer cut off by the view, scroll it first."""
        turns = self.turns
        if not turns:
            return
        turn, view = self.selected_turn, self.scrollable_content_region
        in_view = turn is not None and turn.region.y < view.bottom and turn.region.bottom > view.y
        if in_view and (turn.region.bottom > view.bottom if step > 0 else turn.region.y < view.y):
            self.scroll_relative(y=step * max(1, view.height // 2), animate=False)
            return
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
        self.showing: tuple[Answer | None, Path | None] | None = None
        self._width: int | None = None  # at the last resize
        self._laid_out: tuple[object, ...] | None = None  # what the last screen layout gave the pane
        self.border_title = "Sources"

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Textual's update of the pane's size, skipped when the screen's layout changed nothing of it.

        Textual's scrolling views compare the virtual size the layout gives them with their own, and an
        option list's own is its options' height, so the two always differ: every layout of the screen
        redrew the pane's scroll bar, the one that draws a new answer too (32 of the 54 lines that frame
        rendered, 1.3-2.2 ms; bench/results.md, stop 20). The list updates its scroll bar itself when its
        options change; a new theme or gutter still takes Textual's way.
        """
        laid_out = (size, container_size, self.virtual_size, self.styles.gutter, self.app.theme)
        if laid_out == self._laid_out:
            return False
        self._laid_out = laid_out
        return super()._size_updated(size, virtual_size, container_size, layout)

    def show(self, answer: Answer | None, cwd: Path | None = None) -> None:
        if self.showing is not None and self.showing[0] is answer and self.showing[1] == cwd:
            return  # the same answer: rebuilding its options would cost a repaint for nothing
        self.showing = (answer, cwd)
        self.citations = list(answer.citations) if answer else []
        if answer is None:
            self.border_title = "Sources"
            self.border_subtitle = ""
        else:
            self.border_title = "Sources" if answer.found else "Closest passages"
            self.border_subtitle = "enter or 1-9 to read" if self.citations else ""
        if not self.citations:
            self.set_options(
                [Option(Content("The sources of the selected answer appear here."), disabled=True)]
            )
            return
        width = self.scrollable_content_region.width - 1 or 74
        options: list[Option | None] = []
        for citation in self.citations:
            if options:
                options.append(None)  # a divider
            options.append(Option(render.source_option(citation, cwd, width), id=f"c{citation.n}"))
        # All at once: each option added alone laid out every option so far again (~2 ms an answer).
        self.set_options(options)
        self.highlighted = 0

    def on_resize(self, event: events.Resize) -> None:
        """Lay the sources out again at a new width (their lines are cut to fit it)."""
        width, self._width = self._width, event.size.width
        if self.showing is not None and width != event.size.width:
            answer, cwd = self.showing
            highlighted = self.highlighted
            self.showing = None
            self.show(answer, cwd)
            if highlighted is not None and highlighted < self.option_count:
                self.highlighted = highlighted

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

    _shown: tuple[str, bool] | None = None

    def set_text(self, text: Content | str, *, busy: bool = False) -> None:
        shown = (text.markup if isinstance(text, Content) else text, busy)  # Content == compares text only
        if self._shown == shown:
            return  # the same line again (each question re-checks it): no repaint
        self._shown = shown
        # One line of fixed size: a new text needs no layout of the whole screen.
        self.query_one("#status-text", Static).update(text, layout=False)
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
