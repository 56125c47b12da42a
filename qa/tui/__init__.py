"""The terminal UI (Textual). It calls only `qa.core.QA` for logic; `qa.tui.app.QAApp` is the app."""
