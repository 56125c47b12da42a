"""The conversations screen: reopen or delete saved conversations."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from qa.conversations import ConversationInfo, ConversationStore
from qa.text import plural
from qa.tui import render
from qa.tui.dialogs import ConfirmDialog


def local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class ConversationsScreen(Screen[int | None]):
    """Dismisses with the id of the conversation to open, or None."""

    BINDINGS = [
        Binding("escape", "close", "Back", tooltip="Back to the chat"),
        Binding("enter", "open", "Open", tooltip="Open the highlighted conversation"),
        Binding("d,delete", "delete", "Delete", tooltip="Delete the highlighted conversation (asks first)"),
    ]

    def __init__(self, store: ConversationStore, current: int | None = None) -> None:
        super().__init__(id="conversations")
        self.store = store
        self.current = current
        self.items: list[ConversationInfo] = []

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Content("Conversations").stylize("bold"), id="conversations-title")
        yield OptionList(id="conversation-list")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_list()
        self.query_one(OptionList).focus()

    def refresh_list(self, keep: int | None = None) -> None:
        options = self.query_one(OptionList)
        self.items = self.store.list()
        options.clear_options()
        if not self.items:
            options.add_option(
                Option(Content("No saved conversations yet.").stylize("$text-muted"), disabled=True)
            )
            return
        for info in self.items:
            label = Content.assemble(
                (render.oneline(info.title), "bold"),
                ("  (open)" if info.id == self.current else "", "$text-accent"),
                "\n",
                (f"{local_time(info.updated)} · {plural(info.turns, 'question')}", render.DIM_STYLE),
            )
            options.add_option(Option(label, id=str(info.id)))
        options.highlighted = max(0, min(keep or 0, len(self.items) - 1))

    def _highlighted(self) -> ConversationInfo | None:
        index = self.query_one(OptionList).highlighted
        if index is None or not self.items or index >= len(self.items):
            return None
        return self.items[index]

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        info = self._highlighted()
        if info is not None:
            self.dismiss(info.id)

    def action_delete(self) -> None:
        info = self._highlighted()
        if info is None:
            return
        index = self.items.index(info)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.store.delete(info.id)
                self.notify(f"Deleted “{render.oneline(info.title)}”", timeout=3)
                self.refresh_list(keep=index)

        self.app.push_screen(
            ConfirmDialog(f"Delete the conversation “{render.oneline(info.title)}”?"), confirmed
        )

    def action_close(self) -> None:
        self.dismiss(None)
