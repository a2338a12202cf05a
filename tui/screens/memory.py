"""Memory from the terminal app: add a file or folder to the evidence store, or search it.

One input does both: a path that exists is added (as ``txscout memory add`` would, with the same
summary), anything else is searched. Adding runs in a worker thread so the app stays responsive, and
progress shows under the input. A search hit opens in the source view, page and all.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from txscout.core.errors import UserError
from txscout.core.text import clean, clean_line
from txscout.memory.ingest import Ingest, IngestReport, Progress, collect
from txscout.memory.store import EvidenceStore, Hit
from txscout.tui._css import sibling_css
from txscout.tui.screens.evidence import EvidenceScreen
from txscout.tui.sessions import EvidenceRecord


def summary(report: IngestReport) -> str:
    """The line ``memory add`` ends with, and each failure on a line of its own."""
    lines = [
        f"added {report.count('added')}, unchanged {report.count('unchanged')}, failed {report.count('failed')} "
        f"({report.chunks:,} chunks, {report.pages:,} pages)"
    ]
    lines += [f"{o.source}: {o.reason}" for o in report.outcomes if o.status == "failed"]
    return "\n".join(lines)


def record(ref: int, hit: Hit) -> EvidenceRecord:
    e = hit.evidence
    return EvidenceRecord(
        ref=ref,
        evidence_id=e.content_hash,
        source_kind=e.source_kind,
        title=e.label or e.title,
        locator=e.locator,
        pmid=e.pmid,
        doi=e.doi,
        url=e.url,
        year=e.year,
        page=e.page,
        text=e.text,
    )


class MemoryScreen(ModalScreen[None]):
    DEFAULT_CSS = sibling_css(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, store: EvidenceStore) -> None:
        super().__init__()
        self.store = store
        self.hits: list[Hit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="memory-dialog") as dialog:
            dialog.border_title = "Memory"
            yield Input(placeholder="a file or folder to add, or words to search for", id="memory-input")
            yield Static("", id="memory-status")
            yield OptionList(id="memory-hits")
            yield Static("Enter add or search · ↓ results · Enter open · Esc close", id="memory-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        path = Path(text).expanduser()
        if path.exists():
            self._status(f"adding {path}…")
            self.add(path)
        else:
            self._status(f"searching for {text}…")
            self.search(text)

    def _status(self, message: str) -> None:
        self.query_one("#memory-status", Static).update(Text(clean(message)))

    @work(thread=True, exclusive=True)
    def add(self, path: Path) -> None:
        def progress(p: Progress) -> None:
            line = f"files {p.files_done}/{p.files_total} · pages {p.pages:,} · chunks {p.chunks:,}"
            self.app.call_from_thread(self._status, line)

        try:
            files, failed = collect([path])
            report = Ingest(self.store, on_progress=progress).run(files, failed)
        except UserError as exc:
            self.app.call_from_thread(self._status, str(exc))
            return
        self.app.call_from_thread(self._status, summary(report))

    @work(thread=True, exclusive=True)
    def search(self, query: str) -> None:
        try:
            hits = self.store.search(query, k=10)
        except UserError as exc:
            self.app.call_from_thread(self._status, str(exc))
            return
        self.app.call_from_thread(self._show, query, hits)

    def _show(self, query: str, hits: list[Hit]) -> None:
        self.hits = hits
        options = self.query_one(OptionList)
        options.clear_options()
        for n, hit in enumerate(hits, start=1):
            prompt = Text(f"{clean_line(hit.evidence.label or hit.evidence.locator)}\n", style="bold")
            prompt.append(clean_line(hit.evidence.text)[:200], style="dim")
            options.add_option(Option(prompt, id=str(n)))
        self._status(f"{len(hits)} passages for {query}" if hits else f"nothing in memory matches {query}")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        ref = int(event.option.id or 0)
        if 1 <= ref <= len(self.hits):
            self.app.push_screen(EvidenceScreen(record(ref, self.hits[ref - 1])))
