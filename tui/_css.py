"""Widget styles live in a ``.tcss`` file beside each widget module; Textual only loads ``CSS_PATH`` for
apps and screens, so widgets read theirs into ``DEFAULT_CSS`` with this helper."""

from __future__ import annotations

from pathlib import Path


def sibling_css(module_file: str) -> str:
    return Path(module_file).with_suffix(".tcss").read_text(encoding="utf-8")
