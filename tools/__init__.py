"""txscout's tools: plain LangChain tools with typed inputs, usable in any LangChain or LangGraph agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from agent.config import Settings


def default_tools(settings: Settings | None = None) -> list[BaseTool]:
    """Every built-in tool, configured from ``settings`` (the effective settings when omitted)."""
    from agent.config import load_settings
    from memory import memory_tools
    from tools.chemistry import chemistry_tools
    from tools.literature import literature_tools

    settings = settings or load_settings()
    return [*chemistry_tools(settings), *literature_tools(settings), *memory_tools(settings)]
