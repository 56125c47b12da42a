"""Small modal dialogs: ask for a path, confirm a deletion."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class PathDialog(ModalScreen[str | None]):
    """One line of input (paths), confirmed with enter; escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close the dialog without doing anything")]

    def __init__(self, title: str, label: str, value: str, action: str, hint: str = "") -> None:
        super().__init__(classes="dialog")
        self.dialog_title = title
        self.label = label
        self.value = value
        self.action_label = action
        self.hint = hint

    def compose(self):  # type: ignore[no-untyped-def]
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.dialog_title).stylize("bold"), classes="dialog-title")
            yield Static(Content(self.label), classes="dialog-label")
            yield Input(value=self.value, id="dialog-input")
            if self.hint:
                yield Static(Content(self.hint).stylize("$text-muted"), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.action_label, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        value = self.query_one(Input).value.strip()
        if not value:  # closing would look as if something had been done
            self.notify("Type a path first, or press escape to cancel.", severity="warning", timeout=4)
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y or enter confirms, n or escape declines."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", tooltip="Yes, delete"),
        Binding("n,escape", "answer(False)", "No", tooltip="No, keep it"),
    ]

    def __init__(self, question: str, action: str = "Delete") -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.action_label = action

    def compose(self):  # type: ignore[no-untyped-def]
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.question), classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.action_label} (y)", variant="error", id="yes")
                yield Button("Keep (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
