"""An MCP server (the official SDK's FastMCP) with 2,000 tools, as large servers such as ToolUniverse have,
served over streamable HTTP on 127.0.0.1: ``python tests/many_tools_server.py PORT``.

Most tools are generated from actions, subjects and sources, so their descriptions overlap as a real
catalogue's do; a few are written out with a purpose no generated tool shares, so a test can ask for
that purpose and expect the tool. Every tool echoes its name and arguments. ``GET /health`` answers
200 once the tools are registered.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

ACTIONS = ("search", "fetch", "summarise", "count", "rank", "compare", "annotate", "validate", "export", "list")
SUBJECTS = (
    "gene expression",
    "protein structure",
    "clinical trial",
    "adverse event",
    "drug label",
    "patent",
    "signalling pathway",
    "genetic variant",
    "cell line",
    "antibody",
    "enzyme kinetics",
    "metabolite",
    "gut microbiome",
    "radiology image",
    "ontology term",
    "disease association",
    "orthologue",
    "splice isoform",
    "promoter motif",
    "T-cell epitope",
    "copy number",
    "methylation",
    "single-cell cluster",
    "CRISPR screen",
    "mass spectrum",
    "crystal structure",
    "binding affinity",
    "pharmacokinetic study",
    "veterinary drug",
    "food additive",
    "environmental toxicant",
    "herbal compound",
    "vaccine",
    "rare disease",
    "hospital formulary",
    "medical device",
    "microRNA",
    "lipid species",
    "glycan",
    "transcription factor",
)
SOURCES = (
    "in the public registry",
    "from the curated database",
    "for a given organism",
    "across human tissues",
    "by accession identifier",
)
DISTINCT = {
    "dose_escalation_planner": "Plan a 3+3 dose-escalation scheme for a phase I oncology trial from the starting "
    "dose and the dose-limiting toxicities observed in each cohort.",
    "snake_venom_neutraliser": "Find antivenoms that neutralise the venom of a given snake species, with the "
    "recommended number of vials.",
    "hospital_bed_forecaster": "Forecast intensive-care bed occupancy for the next two weeks from daily admissions.",
}
COUNT = len(ACTIONS) * len(SUBJECTS) * len(SOURCES)


def catalogue() -> dict[str, str]:
    """Tool name -> description: the generated tools, then the distinct ones."""
    tools: dict[str, str] = {}
    for action in ACTIONS:
        for subject in SUBJECTS:
            for number, source in enumerate(SOURCES):
                slug = subject.replace(" ", "_").replace("-", "_").lower()
                name = f"{action}_{slug}_{number}"
                tools[name] = (
                    f"{action.capitalize()} {subject} records {source}. Returns one line per record with its "
                    f"identifier, a short summary and the date it was last updated."
                )
    tools.update(DISTINCT)
    return tools


def _echo(name: str) -> Callable[[str], str]:
    def tool(query: str) -> str:
        return f"{name} answered: {query}"

    return tool


def main(port: int) -> None:
    from mcp.server.fastmcp import FastMCP
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse

    server = FastMCP("many-tools", host="127.0.0.1", port=port, log_level="WARNING")
    for name, description in catalogue().items():
        server.add_tool(_echo(name), name=name, description=description)

    @server.custom_route("/health", methods=["GET"])
    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    server.run(transport="streamable-http")


if __name__ == "__main__":
    main(int(sys.argv[1]))
