"""The question input: Up and Down walk through earlier questions, Right accepts the greyed suggestion."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.widgets import Input

from txscout.core.text import clean_line
from txscout.tui._css import sibling_css


class QuestionInput(Input):
    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Earlier question from history", show=False),
        Binding("down", "history(1)", "Later question from history", show=False),
    ]

    def __init__(self, history: list[str], *, id: str | None = None) -> None:
        # Past questions come back from a file; one line each and no terminal control, as typed.
        self.history = list(dict.fromkeys(q for q in map(clean_line, history) if q))
        super().__init__(
            placeholder="Ask a question about a drug, target or molecule, then press Enter",
            suggester=SuggestFromList(self.history, case_sensitive=False),
            id=id,
        )
        self._cursor = len(self.history)
        self._draft = ""

    def remember(self, question: str) -> None:
        question = clean_line(question)
        if question in self.history:
            self.history.remove(question)
        self.history.append(question)
        self.suggester = SuggestFromList(self.history, case_sensitive=False)
        self._cursor = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        """Move through history; stepping past the newest question restores what was being typed."""
        if not self.history:
            return
        if self._cursor == len(self.history):
            self._draft = self.value
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self.value = self._draft if self._cursor == len(self.history) else self.history[self._cursor]
        self.cursor_position = len(self.value)
