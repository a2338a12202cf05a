"""Chemistry and prediction tools: RDKit utilities, offline name resolution, ADMET-AI and the safety gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rdkit import RDLogger

from txscout.tools.chemistry.linking import LinkedMolecule, find_molecules
from txscout.tools.chemistry.safety import SafetyMatch, check_structure

if TYPE_CHECKING:
    import httpx
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings

# Parse failures reach the model as ToolError messages; RDKit's own log would only clutter stderr.
RDLogger.DisableLog("rdApp.*")

__all__ = ["LinkedMolecule", "SafetyMatch", "check_structure", "chemistry_tools", "find_molecules"]


def chemistry_tools(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> list[BaseTool]:
    """All chemistry and prediction tools; ``transport`` replaces the network (tests use MockTransport)."""
    from txscout.tools.chemistry.tools import build_tools

    return build_tools(settings, transport=transport)
