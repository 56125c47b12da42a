"""Snapshots of the terminal UI (pytest-textual-snapshot): look at tests/__snapshots__/ after an update.

Deterministic by construction: a fixed terminal size, answers without timings (`show_timings=False`),
no clock, no blinking cursor, source paths shown relative to the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from qa.tui.app import QAApp
from qa.tui.reader import ReaderScreen
from tests.conftest import ROOT, SEED_QUESTION
from tests.test_tui import settled, wait_for

SIZE = (100, 32)


def ready(app: QAApp) -> bool:
    return app.phase in ("ready", "empty") and app.chat.asking is None and not app.chat.pending


async def answer_seed_question(pilot: Pilot[None]) -> QAApp:
    app = pilot.app
    assert isinstance(app, QAApp)
    box = app.chat.question_input
    box.cursor_blink = False
    await wait_for(pilot, lambda: ready(app))
    box.value = SEED_QUESTION
    await pilot.press("enter")
    # settled: the sources pane is filled too (in the frame after the answer's).
    await wait_for(pilot, lambda: settled(app) and app.chat.conversation.turns[-1].answer is not None)
    await pilot.pause()
    return app


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # source paths display relative to the working folder


def test_chat_with_an_answer(snap_compare, seed_index: Path, tmp_path: Path) -> None:
    app = QAApp(index_dir=seed_index, data_dir=tmp_path, show_timings=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=answer_seed_question)


def test_reader_view(snap_compare, seed_index: Path, tmp_path: Path) -> None:
    async def open_citation(pilot: Pilot[None]) -> None:
        app = await answer_seed_question(pilot)
        await pilot.press("escape", "1")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.highlight_line is not None
        )
        await pilot.pause()

    app = QAApp(index_dir=seed_index, data_dir=tmp_path, show_timings=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_citation)


def test_welcome_view(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    async def steady(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, QAApp)
        app.chat.question_input.cursor_blink = False
        await wait_for(pilot, lambda: app.phase == "empty")
        await pilot.pause()

    app = QAApp(index_dir=Path("index"), data_dir=tmp_path / "data")
    assert snap_compare(app, terminal_size=SIZE, run_before=steady)


def test_help_screen(snap_compare, seed_index: Path, tmp_path: Path) -> None:
    async def open_help(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, QAApp)
        app.chat.question_input.cursor_blink = False
        await wait_for(pilot, lambda: ready(app))
        await pilot.press("f1")
        await pilot.pause()

    app = QAApp(index_dir=seed_index, data_dir=tmp_path, show_timings=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)
