"""One source in full: its stored text and where a reader can check it (PMID, DOI or URL)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from txscout.core.text import clean, clean_line
from txscout.tui._css import sibling_css
from txscout.tui.sessions import EvidenceRecord


def provenance(record: EvidenceRecord) -> Text:
    text = Text()
    facts: list[tuple[str, str]] = [("kind", record.source_kind)]
    if record.pmid:
        facts.append(("PMID", record.pmid))
    if record.doi:
        facts.append(("DOI", record.doi))
    if record.year:
        facts.append(("year", str(record.year)))
    if record.page:
        facts.append(("page", str(record.page)))
    facts.append(("link", record.url or record.locator))
    facts.append(("evidence id", record.evidence_id))
    for name, value in facts:
        text.append(f"{name:<12}", style="dim")
        text.append(f"{clean_line(value)}\n")
    text.append(
        "cited in the answer" if record.cited else "not cited in the answer",
        style="bold" if record.cited else "dim",
    )
    return text


class EvidenceScreen(ModalScreen[None]):
    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("c", "copy", "Copy text"),
        Binding("o", "open_link", "Open link"),
    ]

    def __init__(self, record: EvidenceRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(id="evidence-dialog") as dialog:
            dialog.border_title = f"Source [{self.record.ref}]"
            yield Static(Text(clean(self.record.label), style="bold"), id="evidence-title")
            yield Static(provenance(self.record), id="evidence-provenance")
            with VerticalScroll(id="evidence-text"):
                yield Static(Text(clean(self.record.text) or "(no stored text for this source)"))
            yield Static("Esc close · c copy text · o open link · ↑↓ scroll", id="evidence-hint")

    def on_mount(self) -> None:
        self.query_one("#evidence-text").focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.record.text)
        self.notify("source text copied to the clipboard")

    def action_open_link(self) -> None:
        link = self.record.url or self.record.locator
        if link.startswith(("http://", "https://")):
            self.app.open_url(link)
        else:
            self.notify(f"this source has no link ({clean_line(link)})", severity="warning", markup=False)
