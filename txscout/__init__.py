"""txscout: a tool-using research assistant for therapeutics, oncology and chemistry.

``from txscout import Agent, Answer, default_tools`` is the library entry. The import stays light (the
CLI must start fast): the names load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from txscout.agent.api import Agent, Choices
    from txscout.agent.result import Answer
    from txscout.agent.toolbox import default_tools

_EXPORTS = {
    "Agent": "txscout.agent.api",
    "Answer": "txscout.agent.result",
    "Choices": "txscout.agent.api",
    "default_tools": "txscout.agent.toolbox",
}

__all__ = ["Agent", "Answer", "Choices", "__version__", "default_tools"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'txscout' has no attribute {name!r}")
    return getattr(import_module(module), name)
