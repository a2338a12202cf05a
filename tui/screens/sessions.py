"""The session list: pick a saved session to reopen it with its answers, sources and traces."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from txscout.core.text import clean_line
from txscout.tui._css import sibling_css
from txscout.tui.sessions import SessionSummary
from txscout.tui.words import plural


def _prompt(summary: SessionSummary, current: bool) -> Text:
    when = datetime.fromtimestamp(summary.updated_at).strftime("%Y-%m-%d %H:%M")
    text = Text(f"{when}  ", style="dim")
    text.append(clean_line(summary.title), style="bold")
    text.append(f"\n    {plural(summary.questions, 'question')}" + (" · open now" if current else ""), style="dim")
    return text


class SessionsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen session id, or None when the reader backs out."""

    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss(None)", "Close")]

    def __init__(self, summaries: list[SessionSummary], current: str | None) -> None:
        super().__init__()
        self.summaries = summaries
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions-dialog") as dialog:
            dialog.border_title = f"Sessions ({len(self.summaries)})"
            if self.summaries:
                yield OptionList(
                    *[Option(_prompt(s, s.id == self.current), id=s.id) for s in self.summaries],
                    id="sessions-list",
                )
            else:
                yield Static("No saved sessions yet. Ask a question to start one.", id="sessions-empty")
            yield Static("Enter reopen · Esc close", id="sessions-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
