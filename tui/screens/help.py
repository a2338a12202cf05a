"""The key bindings, built from the bindings themselves so the list cannot drift from the app."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from txscout.tui._css import sibling_css

_KEY_NAMES = {
    "question_mark": "?",
    "escape": "Esc",
    "enter": "Enter",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "tab": "Tab",
}


def key_label(keys: str) -> str:
    """``"f1,question_mark"`` -> ``"F1 / ?"``; ``"ctrl+o"`` -> ``"Ctrl+O"``."""

    def one(key: str) -> str:
        if key in _KEY_NAMES:
            return _KEY_NAMES[key]
        parts = key.split("+")
        return "+".join(_KEY_NAMES.get(p, p.capitalize() if len(p) > 1 else p.upper()) for p in parts)

    return " / ".join(one(k.strip()) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        """``sections`` are (title, [(keys as shown, what they do)])."""
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for number, (title, rows) in enumerate(self.sections):
            if number:
                table.add_row("", "")
            table.add_row(Text(title, style="underline"), "")
            for keys, description in rows:
                table.add_row(Text(keys), Text(description))
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = "Keys"
            with VerticalScroll():
                yield Static(table)
            yield Static("Esc close", id="help-hint")
