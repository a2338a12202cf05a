"""txscout's agent: the ReAct loop, model backends, uncertainty-guided search, self-critique and CLI.

``from agent import Agent`` is the library entry point; the import stays light so the CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from agent.api import Agent, Answer

__all__ = ["Agent", "Answer", "Choices", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("Agent", "Answer", "Choices"):
        from agent import api

        return getattr(api, name)
    raise AttributeError(name)
