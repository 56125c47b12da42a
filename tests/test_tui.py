"""The terminal UI, driven headlessly with Textual's pilot, on real indexes and the real model."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.content import Content
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from qa.conversations import ConversationStore, Turn, answer_from_dict
from qa.core import QA
from qa.export import conversation_to_markdown, default_file_name, turn_to_markdown
from qa.text import safe
from qa.tui import chat, render
from qa.tui.app import QAApp
from qa.tui.dialogs import ConfirmDialog, PathDialog
from qa.tui.help import HelpScreen
from qa.tui.history import ConversationsScreen
from qa.tui.reader import ReaderScreen
from qa.tui.widgets import ConversationView, TurnView
from qa.types import Answer, Citation
from tests.conftest import ROOT, SEED_FILE, SEED_QUESTION, SEEDS

SEED_TITLE = "Facing Trump's demands, NATO to consider larger Iraq training mission"
SEED_SENTENCE = (
    "A Pentagon report released in November said there were 8,892 U.S. troops in Iraq as of late September."
)


# -- helpers ------------------------------------------------------------------------------------------


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {condition}")


def settled(app: QAApp) -> bool:
    chat = app.chat
    selected = chat.conversation.selected_turn
    return (
        app.phase in ("ready", "empty", "error")
        and not app.indexing
        and chat.asking is None
        and not chat.pending
        # The sources pane shows the selected answer's (filled in the frame after the answer's).
        and (
            selected is None
            or selected.answer is None
            or (chat.sources.showing is not None and chat.sources.showing[0] is selected.answer)
        )
    )


async def ask(pilot: Pilot[None], app: QAApp, question: str) -> TurnView:
    """Type nothing fancy: put the question in the box and press enter, then wait for the answer."""
    box = app.chat.question_input
    box.focus()
    box.value = question
    await pilot.press("enter")
    await wait_for(pilot, lambda: settled(app) and app.chat.conversation.turns[-1].question == question)
    await pilot.pause()
    return app.chat.conversation.turns[-1]


async def browse_answers(pilot: Pilot[None], app: QAApp) -> None:
    """Ask the seed question, then press escape to browse the answers (the conversation has the focus)."""
    await ask(pilot, app, SEED_QUESTION)
    frame = app.chat.query_one("#conversation-frame")
    typing_border = frame.styles.border.top
    await pilot.press("escape")
    assert app.focused is app.chat.conversation
    assert frame.styles.border.top != typing_border  # the frame around the answers shows where keys go


def send_burst(app: QAApp, keys: list[str]) -> None:
    """Keys as a terminal sends keys that arrive in one read (ssh, a script, a fast typist): all at
    once, without waiting for the app between them. A key is a character or "enter"."""
    names = {"enter": ("enter", "\r"), "?": ("question_mark", "?")}
    for key in keys:
        name, character = names.get(key, (key, key))
        event = events.Key(name, character)
        event.set_sender(app)
        app._driver.send_message(event)  # type: ignore[union-attr]


def plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Content) else str(content)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def broken_index(tmp_path: Path) -> Path:
    """An index folder whose database is not a database."""
    index_dir = tmp_path / "broken"
    index_dir.mkdir()
    (index_dir / "qa.sqlite").write_bytes(b"not a database" * 100)
    return index_dir


@pytest.fixture
def make_app(seed_index: Path, data_dir: Path) -> Callable[..., QAApp]:
    def make(index_dir: Path | None = None, **kwargs: object) -> QAApp:
        return QAApp(index_dir=index_dir or seed_index, data_dir=data_dir, **kwargs)  # type: ignore[arg-type]

    return make


# -- the seed question, sources, citations --------------------------------------------------------------


async def test_seed_question_typed_before_the_model_is_ready_is_answered_with_its_source(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        # The first frame is up before the model: the status line says it is loading.
        assert app.phase in ("starting", "loading")
        assert "Loading" in plain(app.chat.query_one("#status-text", Static))
        await pilot.press(*SEED_QUESTION, "enter")
        turn = app.chat.conversation.turns[-1]
        if app.phase != "ready":
            assert "Waiting for the model" in turn.body.plain
        await wait_for(pilot, lambda: settled(app) and turn.answer is not None)
        await pilot.pause()

        answer_text = turn.body
        assert "8,892" in answer_text.plain and "[1]" in answer_text.plain
        start = answer_text.plain.index("[1]")
        assert any(s.start == start and s.style == render.MARKER_STYLE for s in answer_text.spans)
        meta = turn.meta.plain
        assert " s · drew on " in meta and "passage" in meta and "1 source" in meta

        sources = app.chat.sources
        assert sources.citations[0].title == SEED_TITLE
        assert sources.citations[0].source.endswith(SEED_FILE.name)
        shown = sources.get_option_at_index(0).prompt
        assert isinstance(shown, Content)
        assert SEED_TITLE in shown.plain and SEED_SENTENCE in shown.plain
        assert "seeds/nato-iraq-training-mission.txt" in shown.plain
        assert any(shown.plain[s.start : s.end] == SEED_SENTENCE for s in shown.spans)
        assert "Ready" in plain(app.chat.query_one("#status-text", Static))


async def test_open_citation_by_number_shows_the_reader_scrolled_to_the_highlight(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, app, SEED_QUESTION)
        await pilot.press("escape", "1")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.highlight_line is not None
        )
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        body = reader.query_one("#reader-body", Static).content
        assert isinstance(body, Content)
        article_text = SEED_FILE.read_text(encoding="utf-8")
        assert body.plain == safe(article_text)
        highlighted = [body.plain[s.start : s.end] for s in body.spans if s.style == render.CITED_STYLE]
        assert highlighted == [SEED_SENTENCE]
        # The cited sentence is far down the article: the reader scrolled so it is in view.
        scroll = reader.query_one("#reader-scroll")
        line = reader.query_one("#reader-body").virtual_region.y + (reader.highlight_line or 0)
        assert scroll.scroll_y > 0
        assert scroll.scroll_y <= line < scroll.scroll_y + scroll.scrollable_content_region.height
        assert SEED_TITLE in plain(reader.query_one("#reader-title", Static))
        await pilot.press("escape")
        assert app.screen is app.chat


async def test_clicking_a_marker_or_enter_on_a_source_opens_the_reader(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        turn = await ask(pilot, app, SEED_QUESTION)
        lines = turn.lines(turn.size.width)
        y = next(i for i, line in enumerate(lines) if "[1]" in line.plain)
        x = lines[y].plain.index("[1]") + 1 + turn.styles.gutter.left  # the border and padding
        assert await pilot.click(turn, offset=(x, y))
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen))
        assert app.screen.citation.n == 1
        await pilot.press("escape")
        app.chat.sources.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await pilot.press("q")
        assert app.screen is app.chat


async def test_an_unanswerable_question_says_so_and_shows_the_closest_passages(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        turn = await ask(pilot, app, "What is the boiling point of mercury?")
        assert turn.answer is not None and not turn.answer.found
        assert turn.has_class("-not-found")
        assert "No answer in the articles" in turn.meta.plain
        assert app.chat.sources.border_title == "Closest passages"
        assert app.chat.sources.citations


async def test_the_sources_follow_the_frame_that_draws_the_answer_and_the_selection(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        sources = app.chat.sources
        shown_with: list[tuple[Answer | None, bool]] = []  # (answer shown, whether its frame was out)
        show = sources.show

        def recording_show(answer: Answer | None, cwd: Path | None = None) -> None:
            turns = [t for t in app.chat.conversation.turns if t.answer is answer]
            shown_with.append((answer, bool(turns) and turns[0].answer_drawn))
            show(answer, cwd)

        sources.show = recording_show  # type: ignore[method-assign]
        first = await ask(pilot, app, SEED_QUESTION)
        second = await ask(pilot, app, "What is the boiling point of mercury?")
        # Each answer's sources went up after a frame had drawn the answer, never before.
        answers = [answer for answer, _ in shown_with if answer is not None]
        assert [a for i, a in enumerate(answers) if not i or a is not answers[i - 1]] == [
            first.answer,
            second.answer,
        ]
        assert all(drawn for answer, drawn in shown_with if answer is not None)
        assert sources.showing is not None and sources.showing[0] is second.answer
        assert sources.border_title == "Closest passages"

        view = app.chat.conversation
        assert [t for t in view.turns if t.has_class("-selected")] == [second]  # the first lost its look
        view.focus()
        await pilot.press("up")  # the answer before: its sources at once
        await pilot.pause()
        assert view.selected_turn is first
        await wait_for(pilot, lambda: [t for t in view.turns if t.has_class("-selected")] == [first], 5)
        assert sources.showing is not None and sources.showing[0] is first.answer
        assert sources.border_title == "Sources" and sources.citations[0].title == SEED_TITLE


async def test_a_follow_up_typed_at_once_waits_its_turn_and_uses_the_previous_question(make_app) -> None:
    followup = "When was it released?"
    assert not QA(make_app().index_dir).ask(followup).found  # on its own, nothing confident
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        box = app.chat.question_input
        for question in (SEED_QUESTION, followup):
            box.value = question
            await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.chat.conversation.turns) == 2)
        first, second = app.chat.conversation.turns
        await wait_for(pilot, lambda: settled(app) and second.answer is not None)
        assert first.answer is not None and "8,892" in first.answer.text
        assert second.answer is not None and second.answer.found
        assert "November" in second.answer.text
        assert second.answer.question == followup


async def test_a_quick_answer_goes_up_with_its_question_and_a_slow_one_says_answering(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[str, str]] = []  # (question, what its turn said) when it went on the screen

    def recording_add_turn(self: ConversationView, turn: TurnView) -> None:
        shown.append((turn.question, "an answer" if turn.answer is not None else turn.body.plain))
        add_turn(self, turn)

    add_turn = ConversationView.add_turn
    monkeypatch.setattr(ConversationView, "add_turn", recording_add_turn)
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        monkeypatch.setattr(chat, "SHOW_WAIT_AFTER", 30.0)  # every answer is quicker than that
        await ask(pilot, app, SEED_QUESTION)
        assert shown == [(SEED_QUESTION, "an answer")]  # never drawn waiting: one repaint
        monkeypatch.setattr(chat, "SHOW_WAIT_AFTER", 0.001)  # every answer is slower than that
        await ask(pilot, app, "How many troops are in Iraq?")
        assert shown[1] == ("How many troops are in Iraq?", "Answering…")
        turns = app.chat.conversation.turns
        assert [t.question for t in turns] == [SEED_QUESTION, "How many troops are in Iraq?"]
        assert all(t.answer is not None and t.answer.found for t in turns)
        assert app.chat.conversation.selected_turn is turns[-1]


async def test_the_screen_holds_still_for_a_quick_answer_and_shows_the_wait_for_a_slow_one(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is drawn between enter and a quick answer: the emptied box goes out with the answer. A slow
    answer lets the screen go at SHOW_WAIT_AFTER, with "Answering…" and what was typed meanwhile."""
    drawn_while_asking: list[str] = []  # the question box's value at each screen update before the answer
    compositor_refresh = Screen._compositor_refresh

    def recording_refresh(self: Screen[None]) -> None:
        if isinstance(self, chat.ChatScreen) and self.asking is not None:
            drawn_while_asking.append(self.question_input.value)
        compositor_refresh(self)

    monkeypatch.setattr(Screen, "_compositor_refresh", recording_refresh)
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        monkeypatch.setattr(chat, "SHOW_WAIT_AFTER", 30.0)
        await ask(pilot, app, SEED_QUESTION)
        assert drawn_while_asking == []
        assert app._batch_count == 0 and app.chat.question_input.value == ""

        monkeypatch.setattr(chat, "SHOW_WAIT_AFTER", 0.2)
        box = app.chat.question_input
        box.value = "How many troops are in Iraq?"
        with app.qa._lock:  # the answer waits for the index as long as this holds it
            await pilot.press("enter", "w", "h", "o")
            await wait_for(pilot, lambda: "who" in drawn_while_asking)
            turn = app.chat.conversation.turns[-1]
            assert turn.question == "How many troops are in Iraq?" and turn.body.plain == "Answering…"
            assert app._batch_count == 0
        await wait_for(pilot, lambda: settled(app) and turn.answer is not None)
        assert turn.answer is not None and turn.answer.found and box.value == "who"


async def test_the_garbage_collector_waits_for_an_answer_and_always_resumes(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gc.isenabled()
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        monkeypatch.setattr(chat, "GC_PAUSE_LIMIT", 600.0)
        await ask(pilot, app, SEED_QUESTION)
        await wait_for(pilot, gc.isenabled, timeout=5)  # once the answer and its sources were drawn
        turn = await ask(pilot, app, "?!")  # the answer fails: the question has no words
        assert turn.has_class("-error") and "no words" in turn.body.plain
        await wait_for(pilot, gc.isenabled, timeout=5)
        monkeypatch.setattr(chat, "GC_PAUSE_LIMIT", 0.5)
        with app.qa._lock:  # an answer that takes longer than the pause may last
            app.chat.ask("How many troops are in Iraq?")
            assert not gc.isenabled()
            await wait_for(pilot, gc.isenabled, timeout=5)
        await wait_for(pilot, lambda: settled(app))


async def test_a_question_is_searched_while_it_is_typed_and_enter_answers_from_that_search(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        qa = app.qa
        searched: list[str] = []  # what the real search is run for from now on
        search = qa._search
        qa._search = lambda query, *args: searched.append(query) or search(query, *args)  # type: ignore[method-assign]
        await pilot.press(*SEED_QUESTION)
        await wait_for(pilot, lambda: searched[-1:] == [SEED_QUESTION] and not app.chat._preparing)
        # Searched as it grew, never for what was not typed, at most once per key.
        assert 1 <= len(searched) <= len(SEED_QUESTION)
        assert all(SEED_QUESTION.startswith(typed) for typed in searched)
        searched.clear()
        await pilot.press("enter")
        await wait_for(pilot, lambda: settled(app) and bool(app.chat.conversation.turns))
        turn = app.chat.conversation.turns[-1]
        assert searched == []  # enter composed the answer from the search already made
        assert turn.answer is not None and turn.answer.citations[0].sentence == SEED_SENTENCE
        assert turn.answer.text == QA(app.index_dir).ask(SEED_QUESTION).text
        # Another question, typed and entered at once: answered, from its own search.
        send_burst(app, [*"How many troops are in Iraq", "?", "enter"])
        await wait_for(pilot, lambda: settled(app) and len(app.chat.conversation.turns) == 2)
        assert searched[-1] == "How many troops are in Iraq?"
        assert app.chat.conversation.turns[-1].answer.found  # type: ignore[union-attr]


async def test_typing_while_browsing_answers_goes_to_the_question_box(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await browse_answers(pilot, app)
        await pilot.press("w", "h", "o")
        assert app.focused is app.chat.question_input
        assert app.chat.question_input.value == "who"


async def test_questions_typed_in_one_burst_stay_apart(make_app) -> None:
    # Keys that arrive in one read (ssh, a script, a fast typist) go in as a terminal sends them: all
    # at once, without waiting for the app between them.
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        questions = [SEED_QUESTION, "Who is Abadi?", "What did NATO say?"]
        send_burst(app, [*(k for q in questions for k in [*q, "enter"]), "W", "h"])
        await wait_for(pilot, lambda: settled(app) and len(app.chat.conversation.turns) == 3)
        assert [t.question for t in app.chat.conversation.turns] == questions
        assert all(t.answer is not None for t in app.chat.conversation.turns)
        assert app.chat.question_input.value == "Wh"  # typed after the last enter: the next question


async def test_a_burst_typed_while_browsing_answers_all_goes_to_the_question_box(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await browse_answers(pilot, app)
        send_burst(app, list("Why 2022?"))  # "2" opens source 2 and "?" the help when browsing
        await wait_for(pilot, lambda: app.chat.question_input.value == "Why 2022?", 5)
        assert app.screen is app.chat and app.focused is app.chat.question_input
        await pilot.press("escape")
        send_burst(app, ["N", "A", "T", "O", "enter"])  # this enter reaches the box by Input's binding
        await wait_for(pilot, lambda: settled(app) and len(app.chat.conversation.turns) == 2)
        assert app.chat.conversation.turns[-1].question == "Why 2022?NATO"
        assert app.chat.question_input.value == ""
        await pilot.press("escape", "1")  # browsing again: the keys act
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen), 5)


async def test_sources_are_laid_out_again_when_the_terminal_is_resized(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # source paths display relative to the working folder
    path = "seeds/nato-iraq-training-mission.txt"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ask(pilot, app, SEED_QUESTION)

        def shown() -> str:
            prompt = app.chat.sources.get_option_at_index(0).prompt
            return prompt.plain if isinstance(prompt, Content) else str(prompt)

        assert path not in shown()  # cut to fit the 48-column pane beside the answers
        await pilot.resize_terminal(100, 32)  # the panes stack: the sources get the full width
        await wait_for(pilot, lambda: path in shown(), 5)


async def test_the_sources_scroll_bar_follows_new_sources_resizes_and_themes(make_app) -> None:
    """The pane skips Textual's scroll-bar update on screen layouts that change nothing of it (the frame that
    draws an answer): what does change it (new sources, another size, another theme) still redraws it."""
    app = make_app()
    async with app.run_test(size=(120, 16)) as pilot:
        sources = app.chat.sources
        bar = sources.vertical_scrollbar

        def bar_fits() -> bool:
            return (
                sources.show_vertical_scrollbar
                and bar.window_virtual_size == sources.virtual_size.height
                and bar.window_size == sources.scrollable_content_region.height
            )

        def drawn() -> list[tuple[str, object]]:
            return [(s.text, s.style) for line in bar.render_lines(bar.size.region) for s in line]

        await ask(pilot, app, SEED_QUESTION)
        await wait_for(pilot, bar_fits, 5)  # the source overflows the short pane
        first, height = drawn(), bar.window_size
        await pilot.resize_terminal(120, 14)
        await wait_for(pilot, lambda: bar_fits() and bar.window_size < height, 5)
        assert drawn() != first  # the thumb in proportion to the shorter pane
        await ask(pilot, app, "Who was NATO's secretary general?")
        await wait_for(pilot, bar_fits, 5)
        before = drawn()
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: drawn() != before, 5)  # the new theme's colours
        assert bar_fits()


async def test_a_new_question_takes_the_turn_mounted_ahead_which_stays_out_of_the_conversation(
    make_app, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        conversation = app.chat.conversation

        def hidden() -> list[TurnView]:
            return [t for t in conversation.query(TurnView) if not t.display]

        await wait_for(pilot, lambda: len(hidden()) == 1, 5)  # mounted once the app is up
        (spare,) = hidden()
        first = await ask(pilot, app, SEED_QUESTION)
        assert first is spare and first.display and first.answer is not None
        assert first.region.height > 0 and "8,892" in str(first.render())
        await wait_for(pilot, lambda: len(hidden()) == 1, 5)  # the next one, after the answer is drawn
        (spare,) = hidden()
        assert conversation.turns == [first] and conversation.selected_turn is first
        second = await ask(pilot, app, "How many troops?")
        assert second is spare and conversation.turns == [first, second]
        assert conversation.selected_turn is second and not first.has_class("-selected")
        target = tmp_path / "conversation.md"
        app.chat.export_to(target)
        assert target.read_text(encoding="utf-8").count("\n## ") == 2  # no empty turn
        await app.chat.start_new_conversation()
        await wait_for(pilot, lambda: len(hidden()) == 1 and not conversation.turns, 5)


async def test_each_new_turn_is_in_view_as_the_conversation_grows(data_dir: Path, broken_index: Path) -> None:
    # An index that cannot be opened answers every question at once with why: no answer step scrolls.
    app = QAApp(index_dir=broken_index, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.phase == "error")
        view = app.chat.conversation
        for n in range(6):  # one of them is the first that does not fit: it must be scrolled to
            turn = await ask(pilot, app, f"{SEED_QUESTION} ({n})")
            await wait_for(pilot, lambda t=turn: view.scrollable_content_region.contains_region(t.region), 5)
        assert view.max_scroll_y > 0


@pytest.mark.parametrize("wait", [30.0, 0.001], ids=["answer-with-question", "answering-first"])
async def test_an_answer_taller_than_the_view_is_drawn_from_its_top(
    make_app, monkeypatch: pytest.MonkeyPatch, wait: float
) -> None:
    tall_question = "What did Mattis suggest in his letter?"  # three sentences: 9 rows at 70 columns
    tops: list[int] = []  # where the tall turn's first row was, relative to the view, each time it was drawn

    def recording_refresh(screen: Screen) -> None:  # type: ignore[type-arg]
        compositor_refresh(screen)
        view = app.chat.conversation
        turn = view.turns[-1] if view.turns else None
        drawn = turn is not None and turn in screen._compositor.visible_widgets
        if drawn and turn.question == tall_question and turn.answer is not None:
            tops.append(turn.region.y - view.scrollable_content_region.y)

    compositor_refresh = Screen._compositor_refresh
    monkeypatch.setattr(Screen, "_compositor_refresh", recording_refresh)
    app = make_app()
    async with app.run_test(size=(70, 20)) as pilot:  # the conversation shows 5 rows
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        monkeypatch.setattr(chat, "SHOW_WAIT_AFTER", wait)
        for question in ("Who sent a letter to NATO headquarters?", "How many trainers does NATO have?"):
            await ask(pilot, app, question)
        assert app.chat.conversation.max_scroll_y > 0  # overflowing: the view follows the newest answer
        turn = await ask(pilot, app, tall_question)
        await pilot.pause(0.2)
        assert turn.outer_size.height > app.chat.conversation.scrollable_content_region.height
        # Never drawn with its top above the view (its bottom first, then a jump); at last at the top.
        assert tops and min(tops) >= 1 and tops[-1] == 1


async def test_arrow_keys_scroll_through_an_answer_taller_than_the_view_before_moving_on(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(70, 20)) as pilot:  # the conversation shows 5 rows
        await wait_for(pilot, lambda: settled(app) and app.phase == "ready")
        await ask(pilot, app, "Who sent a letter to NATO headquarters?")
        tall = await ask(pilot, app, "What did Mattis suggest in his letter?")  # 9 rows at 70 columns
        view = app.chat.conversation
        await pilot.press("escape")
        assert app.focused is view and view.selected_turn is tall
        top = view.scroll_y
        await pilot.press("down")  # the rest of the answer, not past it
        await wait_for(pilot, lambda: view.scroll_y > top, 5)
        assert view.selected_turn is tall
        await pilot.press("up")  # back up within it
        await wait_for(pilot, lambda: view.scroll_y == top, 5)
        assert view.selected_turn is tall
        await pilot.press("up")  # its top is in view: the previous answer
        await wait_for(pilot, lambda: view.selected_turn is view.turns[0], 5)


async def test_pasting_while_browsing_answers_goes_to_the_question_box(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await browse_answers(pilot, app)
        app.chat.conversation.post_message(events.Paste("Who leads\nNATO?"))
        await wait_for(pilot, lambda: app.chat.question_input.value == "Who leads NATO?", 5)
        assert app.focused is app.chat.question_input


async def test_an_unreadable_index_is_reported_and_questions_say_why(
    data_dir: Path, broken_index: Path
) -> None:
    app = QAApp(index_dir=broken_index, data_dir=data_dir)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.phase == "error")
        assert "unreadable" in plain(app.chat.query_one("#status-text", Static))
        turn = await ask(pilot, app, SEED_QUESTION)
        assert turn.has_class("-error") and "could not be opened" in turn.body.plain


# -- input, help, palette, layout ----------------------------------------------------------------------


async def test_input_history_goes_back_and_forth_and_survives_a_restart(make_app, data_dir: Path) -> None:
    app = make_app()
    first, second = "Who sent a letter to NATO?", SEED_QUESTION
    async with app.run_test(size=(100, 32)) as pilot:
        await ask(pilot, app, first)
        await ask(pilot, app, second)
        box = app.chat.question_input
        box.value = "draft"
        await pilot.press("up")
        assert box.value == second
        await pilot.press("up")
        assert box.value == first
        await pilot.press("up")
        assert box.value == first
        await pilot.press("down")
        assert box.value == second
        await pilot.press("down")
        assert box.value == "draft"
    again = make_app()
    async with again.run_test(size=(100, 32)) as pilot:
        await pilot.press("up")
        assert again.chat.question_input.value == second


async def test_help_screen_lists_every_binding(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        from qa.tui.chat import ChatScreen
        from qa.tui.widgets import ConversationView, QuestionInput, SourcesPane

        classes = [
            QAApp,
            ChatScreen,
            QuestionInput,
            ConversationView,
            SourcesPane,
            ReaderScreen,
            ConversationsScreen,
            HelpScreen,
            PathDialog,
            ConfirmDialog,
        ]
        for cls in classes:
            for binding in cls.BINDINGS:
                assert (binding.tooltip or binding.description) in text, binding  # type: ignore[union-attr]
        for words in ("Command palette", "Quit", "1-9", "^r", "f1"):
            assert words in text
        await pilot.press("escape")
        assert app.screen is app.chat
        # `?` opens help too, when the question box does not have the focus.
        app.chat.conversation.focus()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_command_palette_offers_the_apps_actions(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in (
            "Re-index the sample articles",
            "Index files or folders…",
            "Conversations",
            "New conversation",
            "Copy answer",
            "Export conversation",
            "Help",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Help", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


@pytest.mark.parametrize(("size", "side_by_side"), [((80, 24), False), ((160, 50), True)])
async def test_layout_fits_small_and_large_terminals(
    make_app, size: tuple[int, int], side_by_side: bool
) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await ask(pilot, app, SEED_QUESTION)
        conversation, sources = app.chat.conversation.region, app.chat.sources.region
        assert (sources.x > conversation.x) is side_by_side
        assert (sources.y > conversation.y) is not side_by_side
        for region in (conversation, sources):
            assert region.height >= 5 and region.right <= size[0] and region.bottom <= size[1]
        theme = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != theme


async def test_the_tui_imports_no_heavy_library_before_its_first_frame() -> None:
    code = "import sys, qa.tui.app; print(sorted(m for m in ('onnxruntime', 'faiss', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# -- indexing --------------------------------------------------------------------------------------------


async def test_welcome_view_indexes_the_samples_and_then_answers(data_dir: Path, tmp_path: Path) -> None:
    app = QAApp(index_dir=tmp_path / "new-index", data_dir=data_dir)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert app.phase == "empty"
        welcome = app.chat.query_one("#welcome")
        assert welcome.display and not app.chat.query_one("#panes").display
        assert "qa index" in plain(app.chat.query_one("#welcome-command", Static))
        assert app.focused is app.chat.query_one("#index-seeds")
        indexing: list[bool] = []
        progress: list[tuple[int, int]] = []
        app.watch(app, "indexing", lambda value: indexing.append(value), init=False)
        app.watch(app, "index_progress", lambda value: progress.append(value), init=False)
        await pilot.click("#index-seeds")
        await wait_for(pilot, lambda: app.phase == "ready" and not app.indexing, timeout=60)
        assert indexing == [True, False]
        assert progress[-1][0] == progress[-1][1] > 0
        assert app.stats is not None and app.stats.articles == 1
        assert not welcome.display and app.chat.query_one("#panes").display
        assert app.focused is app.chat.question_input
        turn = await ask(pilot, app, SEED_QUESTION)
        assert turn.answer is not None and "8,892" in turn.answer.text


def write_articles(folder: Path, count: int) -> None:
    """`count` filler articles (a few seconds of embedding) and one about okapis."""
    folder.mkdir()
    words = "harbour council budget river bridge school teacher market farmer rain festival museum".split()
    for i in range(count):
        sentences = [
            " ".join(words[(i + j + k) % len(words)] for k in range(10)).capitalize()
            + f" in year {1900 + i + j}."
            for j in range(30)
        ]
        (folder / f"report-{i:02}.txt").write_text(
            f"Local report {i}\n\n" + " ".join(sentences), encoding="utf-8"
        )
    (folder / "zoo.txt").write_text(
        "City zoo welcomes twin okapis\n\nThe city zoo said on Friday that its okapi Nala gave birth to twins, "
        "the first okapi twins born in Europe. The zoo now keeps 7 okapis in its forest enclosure.\n",
        encoding="utf-8",
    )


async def test_reindex_from_the_ui_keeps_the_ui_live_and_uses_the_new_index(
    data_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    QA(index_dir).index([SEEDS])
    more = tmp_path / "more"
    write_articles(more, 30)
    app = QAApp(index_dir=index_dir, data_dir=data_dir)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.phase == "ready")
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, PathDialog)
        app.screen.query_one("Input").value = str(more)  # type: ignore[attr-defined]
        # Keys go straight to the app from here on: pilot.press waits for the CPU to go idle,
        # which it does not while the articles are embedded.
        app.post_message(events.Key("enter", "\r"))
        await wait_for(pilot, lambda: app.indexing)
        # The UI stays live while the articles are embedded: the event loop keeps turning, and each key
        # is in the box before the next is sent, while the indexing is still going on.
        assert app.chat.query_one("#statusbar").has_class("-indexing")
        typed = ""
        for key in "okapi":
            app.post_message(events.Key(key, key))
            typed += key
            for _ in range(100):
                await asyncio.sleep(0.02)
                if app.chat.question_input.value == typed:
                    break
            assert app.chat.question_input.value == typed
        assert app.indexing, "indexing ended too soon to tell whether the UI stayed live"
        await wait_for(pilot, lambda: app.phase == "ready" and not app.indexing, timeout=60)
        assert app.stats is not None and app.stats.articles == 32
        turn = await ask(pilot, app, "How many okapis does the zoo keep?")
        assert turn.answer is not None and turn.answer.found
        assert turn.answer.citations[0].title == "City zoo welcomes twin okapis"


async def test_the_index_dialog_neither_closes_empty_nor_remembers_a_path_that_is_not_there(
    make_app, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.phase == "ready")
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, PathDialog)
        offered = app.screen.query_one("Input").value  # type: ignore[attr-defined]
        assert offered  # what the index was built from
        # A question typed into the dialog by mistake is not indexed, and is not offered next time.
        app.screen.query_one("Input").value = "What did the council decide"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, PathDialog) and not app.indexing
        assert any("no such file or folder: What" in str(n.message) for n in app._notifications)
        # Quotes around nothing are no folder, not the folder the app runs in.
        await pilot.press("ctrl+r")
        app.screen.query_one("Input").value = '""'  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert not app.indexing
        assert any("an empty path was given" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, PathDialog)
        assert app.screen.query_one("Input").value == offered  # type: ignore[attr-defined]
        # An empty field is not a choice: the dialog stays until escape.
        app.screen.query_one("Input").value = ""  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PathDialog) and not app.indexing
        await pilot.press("escape")
        assert not isinstance(app.screen, PathDialog)


async def test_articles_indexed_from_another_shell_are_picked_up_without_a_restart(
    tmp_path: Path, data_dir: Path
) -> None:
    index_dir = tmp_path / "index"
    app = QAApp(index_dir=index_dir, data_dir=data_dir)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: app.phase == "empty")
        # `qa index` in another shell (a process of its own: the app only sees the files change).
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "qa", "index", str(SEEDS), "--index-dir", str(index_dir)],
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: app.phase == "ready", timeout=20)
        assert app.stats is not None and app.stats.articles == 1
        turn = await ask(pilot, app, SEED_QUESTION)
        assert turn.answer is not None and turn.answer.found
        # More articles from the other shell: the header counts them.
        more = tmp_path / "more"
        write_articles(more, 2)
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "qa", "index", str(more), "--index-dir", str(index_dir)],
            capture_output=True,
        )
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: app.stats is not None and app.stats.articles == 4, timeout=20)
        assert app.phase == "ready"
        await wait_for(pilot, lambda: app.chat.sub_title.startswith("4 articles · "))


# -- saving, copying, exporting ----------------------------------------------------------------------------


async def test_export_writes_the_conversation_with_numbered_sources(make_app, tmp_path: Path) -> None:
    app = make_app()
    target = tmp_path / "out" / "conversation.md"
    async with app.run_test(size=(100, 32)) as pilot:
        await ask(pilot, app, SEED_QUESTION)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PathDialog)
        app.screen.query_one("Input").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
    text = target.read_text(encoding="utf-8")
    assert f"## 1. {SEED_QUESTION}" in text
    assert "8,892" in text and "[1]" in text
    assert f"1. {SEED_TITLE} (" in text
    assert f"   > {SEED_SENTENCE}" in text


async def test_copy_puts_the_selected_answer_and_its_sources_on_the_clipboard(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await ask(pilot, app, SEED_QUESTION)
        await pilot.press("ctrl+y")
        assert "8,892" in app.clipboard
        assert SEED_TITLE in app.clipboard and SEED_SENTENCE in app.clipboard


async def test_conversations_are_saved_reopened_and_deleted(make_app, data_dir: Path) -> None:
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await ask(pilot, app, SEED_QUESTION)
        await pilot.press("ctrl+n")
        assert not app.chat.conversation.turns
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, ConversationsScreen)
        assert [c.title for c in app.screen.items] == [SEED_QUESTION]
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.chat.conversation.turns) == 1)
        turn = app.chat.conversation.turns[0]
        assert turn.answer is not None and "8,892" in turn.answer.text
        assert "drew on" in turn.meta.plain
        await pilot.press("ctrl+o", "d")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        assert isinstance(app.screen, ConversationsScreen) and not app.screen.items
        await pilot.press("escape")
    store = ConversationStore(data_dir)
    assert store.list() == []


async def test_a_reopened_long_conversation_shows_its_newest_answer(
    make_app, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn_as_selected: list[str] = []  # questions of turns drawn with the selected look

    def recording_render(self: TurnView) -> Content:
        if self.has_class("-selected"):
            drawn_as_selected.append(self.question)
        return render(self)

    render = TurnView.render
    monkeypatch.setattr(TurnView, "render", recording_render)
    store = ConversationStore(data_dir)
    conversation = store.create("Question 1")
    for n in range(1, 13):
        answer = _answer()
        answer.question = f"Question {n}"
        store.add_turn(conversation, Turn.from_answer(answer))
    store.close()
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: settled(app))
        await pilot.press("ctrl+o", "enter")
        view = app.chat.conversation
        await wait_for(pilot, lambda: len(view.turns) == 12)
        newest = view.turns[-1]
        assert view.selected_turn is newest and newest.question == "Question 12"
        await wait_for(pilot, lambda: view.scrollable_content_region.contains_region(newest.region), 5)
        assert view.max_scroll_y > 0  # the conversation is longer than the view: it scrolled
        assert set(drawn_as_selected) == {"Question 12"}  # the turns added before it were never drawn so


# -- hostile text -------------------------------------------------------------------------------------------


HOSTILE_TITLE = "Ferry [bold red]news[/] \x1b[31mred\x1b[0m"
HOSTILE_BODY = (
    "The island ferry carried 4,321 passengers in [b]March[/b] [@click=app.quit]click[/], a record. "
    "\x1b]0;pwned\x07The operator said [link=https://example.com]more boats[/link] would follow \x1b[2J soon."
)


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "ferry.txt").write_text(f"{HOSTILE_TITLE}\n\n{HOSTILE_BODY}\n", encoding="utf-8")
    index_dir = folder / "index"
    QA(index_dir).index([folder / "ferry.txt"])
    return index_dir


async def test_hostile_article_text_renders_literally(hostile_index: Path, data_dir: Path) -> None:
    app = QAApp(index_dir=hostile_index, data_dir=data_dir)
    async with app.run_test(size=(100, 32)) as pilot:
        turn = await ask(pilot, app, "How many passengers did the island ferry carry?")
        assert turn.answer is not None and turn.answer.found
        answer = turn.body.plain
        assert "[b]March[/b] [@click=app.quit]click[/]" in answer and "\x1b" not in answer
        source = app.chat.sources.get_option_at_index(0).prompt
        assert isinstance(source, Content)
        assert "[bold red]news[/]" in source.plain and "\x1b" not in source.plain
        assert {s.style for s in source.spans} <= {
            render.MARKER_STYLE,
            render.TITLE_STYLE,
            render.DIM_STYLE,
            render.CITED_STYLE,
        }

        await pilot.press("escape", "1")
        await wait_for(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.body is not None)
        await pilot.pause()
        reader = app.screen
        body = reader.query_one("#reader-body", Static)
        text = plain(body)
        assert "[link=https://example.com]more boats[/link]" in text
        assert "[@click=app.quit]click[/]" in text
        assert not any(ch in text for ch in "\x1b\x07")
        # What reaches the terminal is the literal text, and clicking it does nothing.
        rendered = "".join(
            segment.text for strip in body.render_lines(body.region.reset_offset) for segment in strip
        )
        assert "[b]March[/b]" in rendered
        assert "[bold red]news[/]" in plain(reader.query_one("#reader-title", Static))
        await pilot.click(body, offset=(5, 0))
        assert app.is_running


# -- the store and the export, without the UI ---------------------------------------------------------------


def _answer() -> Answer:
    citation = Citation(
        n=1,
        article_id="a1",
        title="A [b]title[/b]",
        source="seeds/x.txt",
        date="2018-02-01",
        start=10,
        end=30,
        sentence="There were 8,892 troops.",
        snippet="Before. There were 8,892 troops. After.",
        snippet_start=2,
        also_sources=("https://example.com/wire/troops",),  # another outlet ran the same passage
    )
    return Answer(
        question="How many troops?",
        text="There were 8,892 troops. [1]",
        found=True,
        citations=[citation],
        timings_ms={"total": 12.5},
    )


def test_conversation_store_round_trip(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "data")
    first = store.create("How many troops?  " + "x" * 200)
    store.add_turn(first, Turn.from_answer(_answer()))
    second = store.create("Another")
    assert store.list()[0].id == second
    store.add_turn(first, Turn.from_answer(_answer()))
    infos = store.list()
    assert infos[0].id == first and infos[0].turns == 2
    assert len(infos[0].title) <= 80 and infos[0].title.endswith("…")
    assert store.get(first) == infos[0] and store.get(second) == infos[1]
    turns = store.turns(first)
    assert [t.question for t in turns] == ["How many troops?", "How many troops?"]
    assert turns[0].to_answer().citations == _answer().citations
    assert answer_from_dict(_answer().to_dict()).text == _answer().text
    assert store.recent_questions() == ["How many troops?", "How many troops?"]
    store.delete(first)
    assert [c.id for c in store.list()] == [second]
    assert store.get(first) is None and store.get(second) == infos[1]  # with its count of turns (none)
    assert store.turns(first) == []
    store.close()
    assert (tmp_path / "data" / "conversations.sqlite").exists()


def test_data_dir_honours_qa_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from qa.conversations import default_data_dir

    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "d"))
    assert default_data_dir() == tmp_path / "d"
    monkeypatch.delenv("QA_DATA_DIR")
    assert default_data_dir() != tmp_path / "d"


def test_markdown_export_numbers_sources_and_quotes_the_cited_sentence() -> None:
    turn = Turn.from_answer(_answer())
    not_found = Turn(
        question="What about \x1b[31mmercury?",
        answer={**_answer().to_dict(), "found": False, "answer": "I could not find an answer."},
        passages=3,
    )
    text = conversation_to_markdown([turn, not_found])
    assert text.startswith("# How many troops?\n")
    assert "   also in https://example.com/wire/troops\n" in text
    heading = render.citation_heading(_answer().citations[0]).plain
    assert heading.splitlines()[-1] == "also in example.com/wire/troops"
    assert "## 1. How many troops?" in text and "## 2. What about mercury?" in text
    assert "There were 8,892 troops. [1]" in text
    assert "**Sources**" in text and "**Closest passages**" in text
    assert "1. A [b]title[/b] (2018-02-01, seeds/x.txt)" in text
    assert "   > There were 8,892 troops." in text
    assert "\x1b" not in text
    assert turn_to_markdown(turn).startswith("**Q:** How many troops?")
    assert default_file_name("How many U.S. troops?") == "qa-how-many-u-s-troops.md"


def test_snippet_and_article_highlight_the_cited_span_even_with_escapes() -> None:
    from qa.types import Article

    text = "Intro \x1b[31mred\x1b[0m text. There were 8,892 troops. The end."
    start = text.index("There")
    end = start + len("There were 8,892 troops.")
    citation = Citation(1, "a", "T", "s", None, start, end, text[start:end], text, 0)
    view = render.article_view(Article("a", "T", "s", text), citation)
    assert view.matched
    spans = [view.body.plain[s.start : s.end] for s in view.body.spans]
    assert spans == ["There were 8,892 troops."] and "\x1b" not in view.body.plain
    snippet = render.snippet_content(citation)
    assert [snippet.plain[s.start : s.end] for s in snippet.spans] == ["There were 8,892 troops."]
    assert snippet.plain.startswith("Intro")  # the article's start: no "…" before it
    # A long lead is cut to about a line, so the cited sentence shows near the top of a short pane.
    lead = "Officials spoke at length about training, budgets and the wider coalition in the region. " * 3
    long = Citation(
        1, "a", "T", "s", None, len(lead), len(lead) + 24, "There were 8,892 troops.", lead + text[start:], 0
    )
    shown = render.snippet_content(long).plain
    assert shown.startswith("… ") and shown.index("There were 8,892 troops.") <= render.SNIPPET_LEAD_CHARS + 2
    changed = render.article_view(Article("a", "T", "s", "New intro. " + text), citation)
    assert changed.matched and [changed.body.plain[s.start : s.end] for s in changed.body.spans] == spans
    assert render.display_source(str(Path.cwd() / "seeds" / "x.txt")) == os.path.join("seeds", "x.txt")
    url = "https://www.cnn.com/2022/06/13/us/five-things-june-13-trnd?cid=external-feeds_iluminar_msn"
    assert render.short_source(url) == "cnn.com/2022/06/13/us/five-things-june-13-trnd"
    assert render.short_source("/a/" + "b" * 100 + "/c.txt", limit=20).startswith("…")


async def test_every_footer_key_fits_a_70_column_terminal(make_app) -> None:
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=(70, 24)) as pilot:
        await pilot.pause()
        keys = list(app.screen.query(FooterKey))
        palette = next(k for k in keys if k.has_class("-command-palette"))
        shown = [k for k in keys if k is not palette]
        assert {k.description for k in shown} >= {"Browse", "Copy", "Export", "Chats", "Help", "Index"}
        assert all(k.region.width and k.region.right <= palette.region.x for k in shown)


async def test_a_follow_up_is_answered_from_the_articles_of_the_answer_before(
    make_app, tmp_path: Path
) -> None:
    from tests.test_answer import BRIDGE, HOSPITAL

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "bridge.txt").write_text(BRIDGE)
    (folder / "hospital.txt").write_text(HOSPITAL)
    QA(tmp_path / "index").index([folder])
    app = make_app(tmp_path / "index")
    async with app.run_test(size=(100, 32)) as pilot:
        await ask(pilot, app, "What did the Riverton council approve for the Harbor Bridge?")
        turn = await ask(pilot, app, "how much did it cost?")
        assert turn.answer is not None and "$48 million" in turn.answer.text
