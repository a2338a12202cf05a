"""The run's sources: every evidence item the tools registered, marked when the answer cites it.

Selecting one (Enter or click) asks the app to open it, so the detail view can also be reached from
a citation link in the answer.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from txscout.core.text import clean, clean_line
from txscout.tui._css import sibling_css
from txscout.tui.sessions import EvidenceRecord


def _prompt(record: EvidenceRecord) -> Table:
    """Marker and number in a column of their own, so wrapped titles and links line up under the title."""
    grid = Table.grid()
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(width=len(str(record.ref)) + 3, no_wrap=True)
    grid.add_column(ratio=1)
    marker = Text("●", style="bold") if record.cited else Text("○", style="dim")
    body = Text(clean(record.label))
    body.append(f"\n{clean_line(record.locator)}", style="dim")
    grid.add_row(marker, Text(f"[{record.ref}]", style="bold"), body)
    return grid


class EvidencePanel(Vertical):
    DEFAULT_CSS = sibling_css(__file__)

    class Opened(Message):
        """The reader picked a source to read."""

        def __init__(self, record: EvidenceRecord) -> None:
            super().__init__()
            self.record = record

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: list[EvidenceRecord] = []
        self.border_title = "Sources"

    def compose(self) -> ComposeResult:
        yield Static("No sources yet.", id="evidence-empty")
        yield OptionList(id="evidence-list")

    def on_mount(self) -> None:
        self._update_title()  # the empty list is hidden from the start, so Tab passes it over

    def show(self, records: list[EvidenceRecord]) -> None:
        """Replace the list, keeping the highlighted row when the same sources are shown again."""
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        self.records = list(records)
        options.clear_options()
        options.add_options([Option(_prompt(r), id=str(r.ref)) for r in self.records])
        if self.records:
            keep = highlighted is not None and highlighted < len(self.records)
            options.highlighted = highlighted if keep else 0
        self._update_title()

    def add(self, record: EvidenceRecord) -> None:
        self.records.append(record)
        self.query_one(OptionList).add_option(Option(_prompt(record), id=str(record.ref)))
        self._update_title()

    def _update_title(self) -> None:
        cited = sum(r.cited for r in self.records)
        self.border_title = f"Sources ({len(self.records)}, {cited} cited)" if self.records else "Sources"
        self.query_one("#evidence-empty").display = not self.records
        self.query_one(OptionList).display = bool(self.records)

    def open_ref(self, ref: int) -> bool:
        record = next((r for r in self.records if r.ref == ref), None)
        if record is not None:
            self.post_message(self.Opened(record))
        return record is not None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.open_ref(int(event.option.id or 0))
