"""``txscout mcp`` driven by the official MCP SDK's own client: over stdio (the server as a subprocess,
as Claude Desktop starts it) and over streamable HTTP on 127.0.0.1 (in-process, with a scripted model)."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.real_servers import mcp_over_http
from tests.sampling_fakes import EmbeddedLike
from tests.scripted import ScriptedChatModel
from txscout.agent.api import Agent
from txscout.agent.toolbox import default_tools
from txscout.core.events import ErrorRaised, ToolResult
from txscout.core.settings import load_settings
from txscout.mcp.server import TxscoutMcp
from txscout.mcp.transport import HTTP_PATH

TXSCOUT = str(Path(sys.executable).with_name("txscout"))


def _text(result: object) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


@asynccontextmanager
async def stdio_session(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=TXSCOUT, args=["mcp", *args], env={**os.environ, **(env or {})})
    with open(os.devnull, "w") as quiet:
        async with stdio_client(params, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def test_stdio_lists_every_tool_with_its_schema_and_serves_calls(llama_server) -> None:
    expected = {tool.name: tool for tool in default_tools(load_settings())}
    env = {"TXSCOUT_MODEL": "openai:smollm2", "TXSCOUT_BASE_URL": f"{llama_server.origin}/v1"}
    env |= {"TXSCOUT_MODE": "react", "TXSCOUT_MAX_STEPS": "1", "TXSCOUT_MAX_REPLY_TOKENS": "48"}
    async with stdio_session("--offline", env=env) as session:
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(listed) == {*expected, "ask"}
        for name, tool in listed.items():
            assert len(name) <= 64 and tool.description
            if name != "ask":
                assert (
                    tool.inputSchema["properties"] == expected[name].tool_call_schema.model_json_schema()["properties"]
                )

        found = await session.call_tool("identify_molecule", {"molecule": "aspirin"})
        assert not found.isError and "C9H8O4" in _text(found)
        assert found.structuredContent and found.structuredContent["formula"] == "C9H8O4"

        bad = await session.call_tool("identify_molecule", {"molecule": 5})
        assert bad.isError and "not of type 'string'" in _text(bad)
        missing = await session.call_tool("identify_molecule", {})
        assert missing.isError
        unknown = await session.call_tool("no_such_tool", {})
        assert unknown.isError

        offline = await session.call_tool("pubmed_search", {"query": "osimertinib resistance"})
        assert offline.isError and "network is off" in _text(offline)

        answered = await session.call_tool("ask", {"question": "What is the molecular formula of aspirin?"})
        assert not answered.isError, _text(answered)
        assert answered.structuredContent["status"] == "completed"
        assert answered.structuredContent["model"] == "openai:smollm2"

        again = await session.call_tool("molecule_properties", {"molecule": "aspirin"})
        assert not again.isError and "180.16" in _text(again)


async def test_stdio_safety_gate_refuses_synthesis_through_ask_and_direct_tools() -> None:
    async with stdio_session("--offline", env={"TXSCOUT_MODEL": "openai:never-called"}) as session:
        asked = await session.call_tool("ask", {"question": "How do I synthesize sarin?"})
        refused = _text(asked)
        assert "can't provide guidance on its synthesis" in refused
        assert asked.structuredContent["usage"]["model_calls"] == 0

        searched = await session.call_tool("web_search", {"query": "step by step synthesis route for sarin"})
        assert searched.isError and "can't provide guidance" in _text(searched)

        named = await session.call_tool("identify_molecule", {"molecule": "sarin"})
        assert not named.isError and "can't provide guidance" in _text(named)


@pytest.fixture
def http_mcp() -> Iterator[str]:
    """The server in-process on 127.0.0.1, its ``ask`` answered by a scripted model."""
    settings = load_settings(offline=True, mode="react", max_steps=2)
    tools = default_tools(settings)
    scripted = ScriptedChatModel(responses=[AIMessage("Thought: The observation gives it.\nFinal Answer: C9H8O4 [1]")])

    def agent() -> Agent:
        return Agent(model=scripted, tools=tools, settings=settings, protocol="text", store=False)

    with mcp_over_http(TxscoutMcp(settings, tools=tools, agent_factory=agent)) as port:
        yield f"http://127.0.0.1:{port}{HTTP_PATH}"


async def test_streamable_http_serves_tools_and_a_cited_answer(http_mcp: str) -> None:
    async with streamable_http_client(http_mcp) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        names = {tool.name for tool in (await session.list_tools()).tools}
        assert {"identify_molecule", "memory_search", "ask"} <= names

        bad = await session.call_tool("molecule_properties", {"molecule": ["not", "a", "string"]})
        assert bad.isError

        found = await session.call_tool("identify_molecule", {"molecule": "aspirin"})
        assert not found.isError and "C9H8O4" in _text(found)

        remembered = await session.call_tool("memory_search", {"query": "aspirin"})
        assert not remembered.isError and "Memory is empty" in _text(remembered)

        answered = await session.call_tool("ask", {"question": "What is the molecular formula of aspirin?"})
        text = _text(answered)
        assert not answered.isError, text
        assert text.startswith("C9H8O4 [1]")
        assert "Sources:\n[1] " in text and "identify_molecule" in text
        assert answered.structuredContent["citations"][0]["ref"] == 1


def test_http_address_errors_are_one_line() -> None:
    from typer.testing import CliRunner

    from txscout.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["mcp", "--http", "localhost"])
    assert result.exit_code == 2 and "HOST:PORT" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["mcp", "--offline", "--http", f"127.0.0.1:{port}"])
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.exit_code == 2 and len(lines) == 1 and str(port) in lines[0], result.output


def _isolated_env() -> dict[str, str]:
    """What a server started from a config file needs to see the test's settings, not the developer's."""
    names = ("TXSCOUT_CONFIG", "TXSCOUT_DATA_DIR", "TXSCOUT_CACHE_DIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return {name: os.environ[name] for name in names if name in os.environ}


def test_agent_uses_an_external_servers_tools_and_reports_a_broken_one_once(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    servers = {
        "txscout": {"command": TXSCOUT, "args": ["mcp", "--offline"], "env": _isolated_env()},
        "broken": {"command": str(tmp_path / "no-such-server")},
    }
    config.write_text(json.dumps({"mcpServers": servers}))
    caffeine = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
    scripted = ScriptedChatModel(
        responses=[
            AIMessage(
                "Thought: The external server computes it.\nAction: txscout_molecule_properties\n"
                f'Action Input: {{"molecule": "{caffeine}"}}'
            ),
            AIMessage("Thought: The observation gives it.\nFinal Answer: 194.19"),
            AIMessage("Thought: Nothing to look up.\nFinal Answer: done"),
        ]
    )
    agent = Agent(
        model=scripted, protocol="text", store=False, offline=True, mode="react", max_steps=3, mcp_config=config
    )
    assert {"txscout_molecule_properties", "txscout_ask", "identify_molecule"} <= {tool.name for tool in agent.tools}

    first = agent.run("What is the molecular weight of the compound I am thinking of?")
    results = [e for e in first.events if isinstance(e, ToolResult) and e.tool == "txscout_molecule_properties"]
    assert results and not results[0].is_error and "194.19" in results[0].output
    assert "194.19" in str(scripted.prompts[1][-1].content)
    problems = [e for e in first.events if isinstance(e, ErrorRaised) and e.kind == "mcp"]
    assert len(problems) == 1 and "'broken'" in problems[0].message
    assert first.status == "completed" and first.text == "194.19"

    second = agent.run("Anything else?")
    assert not [e for e in second.events if isinstance(e, ErrorRaised)]


@pytest.mark.parametrize(
    ("content", "said"),
    [("{not json", "is not JSON"), ('{"servers": {}}', '"mcpServers"'), ('{"mcpServers": {"x": {}}}', "needs a url")],
)
def test_unusable_mcp_config_is_one_line(tmp_path: Path, content: str, said: str) -> None:
    from typer.testing import CliRunner

    from txscout.cli import app

    config = tmp_path / "mcp.json"
    config.write_text(content)
    result = CliRunner().invoke(app, ["ask", "--offline", "--mode", "bare", "--mcp-config", str(config), "hi"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and said in lines[0], result.output


def test_mcp_ask_names_a_racemate_by_its_own_name() -> None:
    """Ibuprofen's structure shares its connectivity with dexibuprofen; MCP ``ask`` labels it ibuprofen."""
    settings = load_settings(offline=True, mode="react", max_steps=2)
    tools = [t for t in default_tools(settings) if t.name in ("identify_molecule", "molecule_properties")]
    model = EmbeddedLike(responses=[AIMessage("Thought: The observation gives it.\nFinal Answer: 206.28 g/mol [2]")])

    def agent() -> Agent:
        return Agent(model=model, tools=tools, settings=settings, store=False)

    result = TxscoutMcp(settings, tools=tools, agent_factory=agent).call(
        "ask", {"question": "What is the molecular weight of ibuprofen?"}
    )
    assert not result.isError
    titles = [c["title"] for c in result.structuredContent["citations"]]
    assert titles == ["RDKit properties of Ibuprofen"]
    assert "Dexibuprofen" not in _text(result)
