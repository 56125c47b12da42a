"""Warm answers in the terminal UI: time from pressing enter to the answer drawn, per question.

usage: .venv/bin/python bench/tui.py [--big-index /tmp/qa-bench/news-2022] [--questions 200] [--keystroke-ms 0]

The real app (`qa.tui.app.QAApp`) runs headless under Textual's pilot on a big index and is asked
news-2022 questions one at a time, typed into the question box. Reference, same run: the time the
core API (`QA.ask`, what `qa ask --file` runs) reported for the same question (`timings_ms.total`),
so the ratio is what the UI adds on top.

By default a question goes into the box at once, as a paste or a recalled question does, and enter
follows IDLE_BEFORE_ENTER later. `--keystroke-ms N` types it key by key instead, one key every N ms
and enter N ms after the last, and also reports how long each key took to show in the box.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from textual import events
from textual.keys import _character_to_key
from textual.screen import Screen
from textual.widgets import Input

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.tui.app import QAApp  # noqa: E402
from qa.tui.widgets import SourcesPane, TurnView  # noqa: E402

IDLE_BEFORE_ENTER = 0.1  # seconds between one answer on the screen and the next question's enter


async def measure(index_dir: Path, questions: list[str], keystroke_ms: float = 0) -> dict[str, float]:
    drawn: dict[str, tuple[float, TurnView]] = {}  # question -> when its answer was on the screen
    answered = asyncio.Event()  # waited on, not polled: polling would take the CPU the app needs
    sourced = asyncio.Event()
    set_answer = TurnView.set_answer
    show_sources = SourcesPane.show
    sources_drawn: dict[str, float] = {}  # question -> when its sources were on the screen
    sources_due: list[str] = []
    answers_due: list[TurnView] = []
    compositor_refresh = Screen._compositor_refresh
    echoes_due: list[tuple[float, int]] = []  # (when a key was sent, the box's length once it is in)
    echo_ms: list[float] = []
    box_of: list[Input] = []

    def timed_set_answer(self: TurnView, answer, passages: int) -> None:  # type: ignore[no-untyped-def]
        set_answer(self, answer, passages)
        answers_due.append(self)

    def timed_show(self: SourcesPane, answer, cwd=None) -> None:  # type: ignore[no-untyped-def]
        show_sources(self, answer, cwd)
        if answer is not None:
            sources_due.append(answer.question)

    def timed_compositor_refresh(self: Screen) -> None:  # type: ignore[type-arg]
        compositor_refresh(self)
        now = time.perf_counter()  # the update is out: what follows is the bench's own bookkeeping
        # An answer is drawn by the first screen update after it was set that paints its turn (the
        # turn may have gone on the screen with its answer).
        visible = self._compositor.visible_widgets
        for turn in list(answers_due):
            if turn in visible and visible[turn][0].height:
                answers_due.remove(turn)
                drawn.setdefault(turn.question, (now, turn))
                answered.set()
        # A typed key: the first screen update once the box holds it.
        while echoes_due and box_of and len(box_of[0].value) >= echoes_due[0][1]:
            echo_ms.append((now - echoes_due.pop(0)[0]) * 1000)
        # Sources: the first screen update after the pane was filled.
        while sources_due:
            sources_drawn.setdefault(sources_due.pop(), now)
            sourced.set()

    TurnView.set_answer = timed_set_answer  # type: ignore[method-assign]
    SourcesPane.show = timed_show  # type: ignore[method-assign]
    Screen._compositor_refresh = timed_compositor_refresh  # type: ignore[method-assign]
    ui_ms: list[float] = []
    sources_ms: list[float] = []
    core_ms: list[float] = []
    with tempfile.TemporaryDirectory() as data_dir:
        app = QAApp(index_dir=index_dir, data_dir=Path(data_dir))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.phase != "ready":
                if app.phase in ("empty", "error"):  # it would wait for an index forever
                    raise SystemExit(f"bench/tui.py: no usable index in {index_dir} ({app.error or 'empty'})")
                await pilot.pause(0.05)
            for n, question in enumerate(questions):
                box = app.chat.question_input
                box_of[:] = [box]
                box.focus()
                drawn.pop(question, None)
                sources_drawn.pop(question, None)
                if keystroke_ms:
                    for typed, char in enumerate(question, 1):
                        echoes_due.append((time.perf_counter(), typed))
                        send_key(app, char)
                        await asyncio.sleep(keystroke_ms / 1000)
                else:
                    box.value = question
                    # A person takes seconds to type a question: by the time they press enter, the screen
                    # has drawn what they typed and finished with the previous answer. Not waiting would
                    # time the previous answer's last repaints as part of this one.
                    await pilot.pause(IDLE_BEFORE_ENTER)
                echoes_due.clear()
                answered.clear()
                sourced.clear()
                started = time.perf_counter()
                send_key(app, "enter")
                while question not in drawn:
                    await answered.wait()
                    answered.clear()
                at, turn = drawn[question]
                assert turn.answer is not None
                while question not in sources_drawn:
                    await sourced.wait()
                    sourced.clear()
                if n:  # the first question loads the models' sessions
                    ui_ms.append((at - started) * 1000)
                    sources_ms.append((sources_drawn[question] - started) * 1000)
                    core_ms.append(turn.answer.timings_ms["total"])
                if len(app.chat.conversation.turns) >= 20:  # keep the screen's size like a user's
                    await app.chat.start_new_conversation()
                    await pilot.pause()
    return {
        "questions": len(ui_ms),
        "ui_p50_ms": float(np.percentile(ui_ms, 50)),
        "ui_p95_ms": float(np.percentile(ui_ms, 95)),
        "sources_p50_ms": float(np.percentile(sources_ms, 50)),
        "sources_p95_ms": float(np.percentile(sources_ms, 95)),
        "core_p50_ms": float(np.percentile(core_ms, 50)),
        "core_p95_ms": float(np.percentile(core_ms, 95)),
        "ui_over_core_p50": float(np.percentile(ui_ms, 50) / np.percentile(core_ms, 50)),
        **(
            {
                "keystroke_ms": keystroke_ms,
                "keys": len(echo_ms),
                "key_shown_p50_ms": float(np.percentile(echo_ms, 50)),
                "key_shown_p95_ms": float(np.percentile(echo_ms, 95)),
            }
            if echo_ms
            else {}
        ),
    }


def send_key(app: QAApp, key: str) -> None:
    """A key goes in as a terminal's key press does (pilot.press would then poll the app until it is
    idle, taking the CPU the answer needs)."""
    # A character is named as a terminal's driver names it ("?" is "question_mark").
    event = events.Key("enter", "\r") if key == "enter" else events.Key(_character_to_key(key), key)
    event.set_sender(app)
    app._driver.send_message(event)  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big-index", type=Path, default=Path("/tmp/qa-bench/news-2022"))
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument(
        "--keystroke-ms", type=float, default=0, help="type each question key by key, this far apart"
    )
    args = parser.parse_args()
    lines = (DATA / "news-2022" / "questions.jsonl").read_text().splitlines()
    questions = [" ".join(json.loads(line)["question"].split()) for line in lines[: args.questions]]
    if args.keystroke_ms:  # a key that prints nothing (a zero-width space) does not go into the box
        questions = ["".join(c for c in q if c.isprintable()) for q in questions]
    print(json.dumps(asyncio.run(measure(args.big_index, questions, args.keystroke_ms)), indent=1))


if __name__ == "__main__":
    main()
