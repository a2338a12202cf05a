"""Untrusted text made safe to show on a terminal.

Questions, file contents, tool output and model replies reach the screen through the CLI, traces and the
TUI. A terminal obeys escape sequences in them (clear the screen, retitle the window, plant hyperlinks) and
some byte values corrupt what follows, so every printing path passes such text through :func:`clean` first.
Rich markup is the other half of the danger; that is handled where text is printed, by wrapping it in
``rich.text.Text`` instead of passing it as a markup string.
"""

from __future__ import annotations

import re

# Whole escape sequences go first, so their parameters do not stay behind as visible garbage:
# CSI (ESC [ or 8-bit CSI), OSC (ESC ] or 8-bit OSC, ended by BEL or ST), the string commands DCS, SOS,
# PM and APC (ended by ST), and two-character escapes. A sequence cut short is defused by the second
# pass, which drops the control characters themselves.
_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]
    | (?:\x1b\]|\x9d) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]) [^\x1b\x9c]* (?:\x1b\\|\x9c)
    | \x1b [ -/]* [0-~]
    """,
    re.VERBOSE,
)
# C0 and C1 controls except tab and newline; DEL; lone UTF-16 surrogates (not encodable, they crash
# writers); and the bidirectional overrides and isolates, which reorder what is displayed.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile(r"\s*[\n\t]\s*")


def clean(text: str) -> str:
    """``text`` without terminal control: escape sequences, control characters other than newline and
    tab, lone surrogates and bidirectional overrides are removed; everything else is kept exactly."""
    if text.isprintable():
        return text  # the common case, and it cannot contain any of the above
    return _UNSAFE.sub("", _SEQUENCES.sub("", text))


def clean_line(text: str) -> str:
    """:func:`clean`, then newlines and tabs folded into single spaces: for messages that must stay
    on one line (errors, warnings, list rows)."""
    return _LINE_BREAKS.sub(" ", clean(text)).strip()
