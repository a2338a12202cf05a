"""txscout's terminal app (``txscout tui``), built on Textual.

Importing ``tui`` loads nothing heavy; Textual and the agent load when ``run_tui`` is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from txscout.tui.app import TxscoutApp, run_tui

__all__ = ["TxscoutApp", "run_tui"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from txscout.tui import app

        return getattr(app, name)
    raise AttributeError(name)
