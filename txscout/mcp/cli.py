"""The ``txscout mcp`` command: serve over stdio (what MCP hosts start) or streamable HTTP."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False)

HttpOpt = Annotated[
    str | None,
    typer.Option("--http", metavar="HOST:PORT", help="Serve streamable HTTP at http://HOST:PORT/mcp, not stdio."),
]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model spec of the ask tool.")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint for openai:MODEL.")]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="Default mode of the ask tool: bare | react | full")]
OfflineOpt = Annotated[
    bool | None, typer.Option("--offline/--online", help="Network tools report that the network is off.")
]


def serve(
    http: HttpOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    offline: OfflineOpt = None,
) -> None:
    """Serve every txscout tool, the agent (ask) and memory_search to MCP hosts (Claude Desktop, IDEs, agents)."""
    from txscout.core.settings import load_settings
    from txscout.mcp.server import TxscoutMcp, build_server
    from txscout.mcp.transport import bind, parse_address, serve_http, serve_stdio, url_of

    address = parse_address(http) if http else None
    settings = load_settings(model=model, base_url=base_url, mode=mode, offline=offline)
    server = build_server(TxscoutMcp(settings))
    if address is None:
        serve_stdio(server)
        return
    sock = bind(*address)  # before the start-up line, which then names an address being served
    err.print(f"txscout MCP server on {url_of(*address)} (Ctrl+C stops it)", markup=False)
    serve_http(server, sock, *address)
