"""The reader: a whole article, scrolled to the cited sentence, which is highlighted."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from qa.errors import QAError
from qa.tui import render
from qa.types import Article, Citation

FetchArticle = Callable[[str], Article | None]


class ReaderScreen(Screen[None]):
    """Opens at once and loads the article in a worker (the index may be busy answering)."""

    BINDINGS = [
        Binding("escape,q", "close", "Back", tooltip="Back to the chat"),
        Binding("c", "show_cited", "Cited sentence", tooltip="Scroll back to the cited sentence"),
        Binding("y", "copy_cited", "Copy", tooltip="Copy the cited sentence"),
    ]

    class Loaded(Message):
        def __init__(self, article: Article | None, error: str | None = None) -> None:
            super().__init__()
            self.article = article
            self.error = error

    def __init__(self, citation: Citation, fetch: FetchArticle) -> None:
        super().__init__(id="reader")
        self.citation = citation
        self.fetch = fetch
        self.article: Article | None = None
        self.body: Content | None = None
        self.highlight_line: int | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        c = self.citation
        yield Static(
            Content.assemble(
                (f"[{c.n}] ", render.MARKER_STYLE), (render.oneline(c.title) or "Untitled", "bold")
            ),
            id="reader-title",
            markup=False,
        )
        yield Static(
            Content("Opening the article…").stylize(render.DIM_STYLE), id="reader-meta", markup=False
        )
        with VerticalScroll(id="reader-scroll"):
            yield Static(Content(""), id="reader-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reader-scroll").focus()
        self._load()

    @work(thread=True, exclusive=True, group="reader", exit_on_error=False)
    def _load(self) -> None:
        try:
            self.post_message(self.Loaded(self.fetch(self.citation.article_id)))
        except QAError as exc:
            self.post_message(self.Loaded(None, str(exc)))
        except Exception as exc:
            self.post_message(self.Loaded(None, f"unexpected error: {type(exc).__name__}: {exc}"))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        meta = self.query_one("#reader-meta", Static)
        if message.article is None:
            meta.update(
                Content(
                    render.oneline(
                        message.error or "This article is no longer in the index (re-index, or ask again)."
                    )
                ).stylize("$text-error")
            )
            return
        self.article = article = message.article
        view = render.article_view(article, self.citation)
        where = f"chars {self.citation.start}-{self.citation.end}"
        if self.citation.page:
            where = f"page {self.citation.page}, " + where
        note = (
            where
            if view.matched
            else "the article changed since this answer: the cited sentence is not in it"
        )
        meta.update(Content.assemble(render.article_meta(article), (f" · {note}", render.DIM_STYLE)))
        self.body = view.body
        self.query_one("#reader-body", Static).update(view.body)
        self.call_after_refresh(self.action_show_cited)

    def on_resize(self) -> None:
        if self.body is not None:
            self.call_after_refresh(self.action_show_cited)

    def action_show_cited(self) -> None:
        """Scroll so the cited sentence sits a third of the way down the view."""
        if self.body is None:
            return
        body = self.query_one("#reader-body", Static)
        scroll = self.query_one("#reader-scroll", VerticalScroll)
        line = render.highlighted_line(self.body, body.content_region.width or scroll.size.width)
        self.highlight_line = line
        if line is None:
            return
        y = body.virtual_region.y + body.styles.gutter.top + line
        scroll.scroll_to(y=max(0, y - scroll.size.height // 3), animate=False, immediate=True)

    def action_copy_cited(self) -> None:
        self.app.copy_to_clipboard(render.oneline(self.citation.sentence))
        self.notify("Copied the cited sentence.", timeout=3)

    def action_close(self) -> None:
        self.dismiss()
