"""`qa` in a real terminal: run it under tmux, type the seed question, read the answer off the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, SEED_QUESTION


def test_qa_answers_the_seed_question_in_a_real_terminal(seed_index: Path, tmp_path: Path) -> None:
    tmux = shutil.which("tmux")
    assert tmux, "tmux is not installed: `apt-get install tmux` (.ci/run installs it)"
    qa = Path(sys.executable).parent / "qa"
    assert qa.exists(), f"{qa} is missing: install the project in the venv (make test does)"
    socket = f"qa-test-{os.getpid()}"  # a private tmux server: never touches the user's sessions
    env = {
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_CACHE_DIR": os.environ["QA_CACHE_DIR"],
        "HF_HUB_OFFLINE": "1",
        "TERM": "xterm-256color",
    }
    command = (
        f"cd {shlex.quote(str(ROOT))} && env -u COLUMNS -u LINES "
        + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        + f" {shlex.quote(str(qa))} --index-dir {shlex.quote(str(seed_index))}"
    )

    def tmux_run(*args: str) -> str:
        return subprocess.run([tmux, "-L", socket, *args], capture_output=True, text=True, check=True).stdout

    def screen() -> str:
        return tmux_run("capture-pane", "-p", "-t", "qa")

    def wait_for(condition: Callable[[str], bool], timeout: float, what: str) -> None:
        """Until the screen shows `what`; the timeout only tells a hang from a slow machine (the speed of
        each step is measured in bench/, not asserted here)."""
        started = time.monotonic()
        text = ""
        while time.monotonic() - started < timeout:
            text = screen()
            if condition(text):
                return
            time.sleep(0.1)
        raise AssertionError(f"no {what} after {timeout}s; the screen shows:\n{text}")

    tmux_run("new-session", "-d", "-s", "qa", "-x", "120", "-y", "40", command)
    tmux_run("set-option", "-s", "escape-time", "0")  # pass escape on at once, as a terminal does
    try:
        wait_for(lambda text: "Conversation" in text, 15, "first frame")
        wait_for(lambda text: "Ready" in text, 30, "ready status")
        tmux_run("send-keys", "-t", "qa", "-l", SEED_QUESTION)
        tmux_run("send-keys", "-t", "qa", "Enter")
        # "drew on" is the answer's meta line: "8,892" alone could be the sources pane's snippet.
        wait_for(lambda text: "8,892" in text and "[1]" in text and "drew on" in text, 30, "answer")
        # The sources pane is filled in the frame after the one that draws the answer.
        wait_for(lambda text: "Facing Trump's demands" in text, 5, "source")
        tmux_run("send-keys", "-t", "qa", "Escape")
        time.sleep(0.3)  # an escape followed at once by a key reads as alt+key
        tmux_run("send-keys", "-t", "qa", "1")
        wait_for(lambda text: "chars 1647-1749" in text, 15, "reader")
    finally:
        subprocess.run([tmux, "-L", socket, "kill-server"], capture_output=True)
