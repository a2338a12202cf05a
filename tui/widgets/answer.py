"""The answer as Markdown, with each [n] a link that opens source n, and the cited sources listed below."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, Static

from txscout.core.text import clean, clean_line
from txscout.tui._css import sibling_css
from txscout.tui.sessions import SessionEntry
from txscout.tui.words import plural

WELCOME = """\
## txscout

Ask a question below and press **Enter**. The timeline shows the agent's thoughts, tool calls and \
observations as they happen; the sources it found are listed under this answer.

**Esc** cancels a run · **F1** lists every key · **Ctrl+O** reopens a saved session
"""

_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")

STATUS_NOTES = {
    "cancelled": "**Cancelled.** The run was stopped before it finished.",
    "failed": "**Failed.**",
    "interrupted": "**Interrupted.**",
    "incomplete": "**Incomplete.**",
}


def escape_markdown(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def linkify_citations(text: str) -> str:
    """``[1, 2]`` -> ``\\[[1](#ref-1), [2](#ref-2)\\]``: reads as [1, 2]; each number opens its source."""

    def link(match: re.Match[str]) -> str:
        refs = re.findall(r"\d+", match.group(1))
        return r"\[" + ", ".join(f"[{n}](#ref-{n})" for n in refs) + r"\]"

    return _CITATION.sub(link, text)


def _show_link_targets(state: StateCore) -> None:
    """A link whose text is not its target ([the FDA label](https://elsewhere.example)) would hide where
    it leads: it becomes plain text followed by its target, unlinked. Links that show their own target
    (the sources list, a bare URL) and the answer's own citation links stay clickable."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        kept: list[Token] = []
        opened: Token | None = None
        inner: list[Token] = []
        for token in block.children:
            if token.type == "link_open":
                opened, inner = token, []
            elif opened is not None and token.type == "link_close":
                href = str(opened.attrGet("href") or "")
                shown = "".join(t.content for t in inner if t.type in ("text", "code_inline"))
                if href.startswith("#ref-") or shown == href:
                    kept += [opened, *inner, token]
                else:
                    kept += [*inner, Token("text", "", 0, content=f" ({href})")]
                opened = None
            elif opened is not None:
                inner.append(token)
            else:
                kept.append(token)
        block.children = kept


def answer_parser() -> MarkdownIt:
    """Textual's Markdown parser with every link target shown (:func:`_show_link_targets`)."""
    parser = MarkdownIt("gfm-like")
    parser.core.ruler.push("show_link_targets", _show_link_targets)
    return parser


def sources_markdown(entry: SessionEntry) -> list[str]:
    lines: list[str] = []
    for citation in entry.citations:
        locator = clean_line(citation.locator)
        where = f"[{escape_markdown(locator)}]({locator})" if locator.startswith("http") else escape_markdown(locator)
        lines.append(f"- **\\[{citation.ref}\\]** {escape_markdown(clean_line(citation.title))} — {where}")
    return lines


def answer_markdown(entry: SessionEntry) -> str:
    """What the answer pane shows for a finished (or failed, or cancelled) question. The answer is the
    model's Markdown, kept as Markdown but cleaned of terminal control; everything else is escaped."""
    parts: list[str] = []
    note = STATUS_NOTES.get(entry.status)
    if note:
        detail = clean_line(" ".join(x for x in (entry.reason, entry.error) if x))
        parts.append(f"> {note} {escape_markdown(detail)}".rstrip())
    parts.append(linkify_citations(clean(entry.answer)) if entry.answer else "_No answer._")
    facts: list[str] = []
    if entry.confidence is not None:
        facts.append(f"confidence {entry.confidence:.0%}")
    facts.append(f"{plural(len(entry.citations), 'source')} cited")
    parts.append("*" + " · ".join(facts) + "*")
    if entry.citations:
        parts.append("**Sources**\n\n" + "\n".join(sources_markdown(entry)))
    return "\n\n".join(parts) + "\n"


def answer_plain(entry: SessionEntry) -> str:
    """The answer as copied to the clipboard: the text and its sources, no link markup."""
    lines = [entry.answer.strip()]
    if entry.citations:
        lines += ["", "Sources:"] + [f"[{c.ref}] {c.title} — {c.locator}" for c in entry.citations]
    return "\n".join(lines) + "\n"


class AnswerPane(VerticalScroll, can_focus=True):
    DEFAULT_CSS = sibling_css(__file__)

    class CitationClicked(Message):
        def __init__(self, ref: int) -> None:
            super().__init__()
            self.ref = ref

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Answer"
        self.markdown = WELCOME

    def compose(self) -> ComposeResult:
        yield Static(id="answer-waiting")
        yield Markdown(WELCOME, open_links=False, parser_factory=answer_parser)

    def waiting(self, question: str) -> None:
        """A cheap placeholder while a run goes: rebuilding the Markdown would delay the timeline."""
        self.border_title = "Answer · working…"
        waiting = self.query_one("#answer-waiting", Static)
        waiting.update(Text.assemble(("Working on: ", "dim"), clean(question)))
        waiting.display = True
        self.query_one(Markdown).display = False

    async def show(self, markdown: str, title: str = "Answer") -> None:
        self.markdown = markdown
        self.border_title = title
        await self.query_one(Markdown).update(markdown)
        self.query_one("#answer-waiting").display = False
        self.query_one(Markdown).display = True
        self.scroll_home(animate=False)

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        if event.href.startswith("#ref-"):
            self.post_message(self.CitationClicked(int(event.href.removeprefix("#ref-"))))
        elif event.href.startswith(("http://", "https://")):
            self.app.open_url(event.href)
