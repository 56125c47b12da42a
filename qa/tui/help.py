"""The help screen: every key binding of the app, by where it works."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.app import App
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

HelpRow = tuple[str, str]  # (keys, what they do)
HelpSection = tuple[str, list[HelpRow]]


def binding_rows(app: App[object], bindings: Iterable[BindingType]) -> list[HelpRow]:
    """(keys, description) for each binding; bindings that share a description share a row."""
    rows: dict[str, list[str]] = {}
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        text = binding.tooltip or binding.description
        if binding.key_display:
            keys = [binding.key_display]
        else:
            keys = [app.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(",")]
        shown = rows.setdefault(text, [])
        for key in keys:
            if key not in shown:
                shown.append(key)
    return [(" ".join(keys), description) for description, keys in rows.items()]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "dismiss", "Close help")]

    def __init__(self, sections: Sequence[HelpSection]) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self):  # type: ignore[no-untyped-def]
        # The longest keys, the column's padding (2, in qa.tcss) and a gap of 2 before the description.
        width = max((len(keys) for _, rows in self.sections for keys, _ in rows), default=8) + 4
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "esc to close"
            for section, rows in self.sections:
                yield Static(Content(section), classes="help-section", markup=False)
                for keys, description in rows:
                    with Horizontal(classes="help-row"):
                        yield Static(Content(keys), classes="help-keys", markup=False).set_styles(
                            f"width: {width};"
                        )
                        yield Static(Content(description), classes="help-description", markup=False)

    @property
    def text(self) -> str:
        """Everything the help lists, one row a line."""
        return "\n".join(
            f"{section}\n" + "\n".join(f"{keys}  {description}" for keys, description in rows)
            for section, rows in self.sections
        )
