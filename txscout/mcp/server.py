"""txscout as an MCP server: every tool, the agent (``ask``) and the evidence store, on the official SDK.

Tools keep their own JSON schemas and descriptions; the SDK validates arguments against them, so a bad
call is an error result and the server keeps serving. Tool calls run in worker threads (the tools and
the agent are synchronous), each in a tool context with the configured offline switch.

The safety gate is the agent's: ``ask`` goes through ``Agent.run`` (question screen, then the refusal
that replaces a draft once a tool flags a structure). Direct tool calls get the same two lines: a text
argument that asks to make, obtain or deploy a flagged agent is refused before the tool runs, and a
structure a tool flags has the agent's safety notice added to the result.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from pydantic import BaseModel, Field

from txscout import __version__
from txscout.core.errors import UserError
from txscout.core.events import Event, SafetyFlagged
from txscout.core.secrets import mask_text
from txscout.core.settings import Mode
from txscout.core.toolkit import ToolContext, tool_context

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.agent.api import Agent, Answer
    from txscout.core.settings import Settings

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Tool names MCP hosts accept (Claude rejects names over 64 characters)."""

INSTRUCTIONS = (
    "txscout: research tools for therapeutics, oncology and chemistry. Call `ask` for a cited answer "
    "from the whole agent, or the tools directly: molecule identity and properties, ADMET predictions, "
    "PubMed, the web, and `memory_search` over evidence gathered earlier."
)


class AskArgs(BaseModel):
    question: str = Field(min_length=1, description="The research question, in plain language.")
    mode: Mode | None = Field(
        default=None,
        description="bare: the model alone; react: with tools; full: react plus re-search and self-critique "
        "(default: the server's configured mode).",
    )


def render_answer(answer: Answer) -> str:
    """The answer text and its numbered sources, as a host shows them to its user."""
    lines = [answer.text.strip() or "(no answer)"]
    if answer.incomplete and answer.reason:
        lines.append(f"\n(incomplete: {answer.reason})")
    if answer.citations:
        lines.append("\nSources:")
        lines.extend(f"[{c.ref}] {c.title} ({c.locator})" for c in answer.citations)
    return "\n".join(lines)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


class TxscoutMcp:
    """What the server serves; built once per process, the agent (and its model) on the first ``ask``."""

    def __init__(
        self,
        settings: Settings,
        *,
        tools: list[BaseTool] | None = None,
        agent_factory: Callable[[], Agent] | None = None,
    ) -> None:
        from txscout.agent.toolbox import default_tools

        self.settings = settings
        self.tools = {tool.name: tool for tool in (tools if tools is not None else default_tools(settings))}
        self._agent_factory = agent_factory or self._default_agent
        self._agent: Agent | None = None
        self._agent_lock = threading.Lock()
        self.listing = [self._describe(tool) for tool in self.tools.values()]
        self.listing.append(
            types.Tool(
                name="ask",
                description="Answer a research question with the txscout agent: it looks things up with its "
                "tools and returns a cited answer with numbered sources.",
                inputSchema=AskArgs.model_json_schema(),
            )
        )
        for tool in self.listing:
            if not NAME_PATTERN.match(tool.name):
                raise ValueError(f"tool name {tool.name!r} is not a valid MCP tool name (1-64 of A-Z a-z 0-9 _ -)")

    @staticmethod
    def _describe(tool: BaseTool) -> types.Tool:
        return types.Tool(
            name=tool.name,
            description=" ".join(tool.description.split()),
            inputSchema=tool.tool_call_schema.model_json_schema(),
        )

    def _default_agent(self) -> Agent:
        from txscout.agent.api import Agent

        return Agent(settings=self.settings, tools=list(self.tools.values()))

    def agent(self) -> Agent:
        with self._agent_lock:
            if self._agent is None:
                self._agent = self._agent_factory()
            return self._agent

    def call(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        """One tool call, synchronously (the server runs it in a worker thread)."""
        if name == "ask":
            return self._ask(AskArgs.model_validate(arguments))
        tool = self.tools.get(name)
        if tool is None:
            return _error(f"unknown tool {name!r}; available: {', '.join([*self.tools, 'ask'])}")
        refusal = self._screen(arguments)
        if refusal is not None:
            return _error(refusal)
        flags: list[SafetyFlagged] = []

        def collect(event: Event) -> None:
            if isinstance(event, SafetyFlagged):
                flags.append(event)

        with tool_context(ToolContext(emit=collect, offline=self.settings.offline)):
            message = tool.invoke({"name": name, "args": arguments, "id": f"mcp-{name}", "type": "tool_call"})
        text = message.content if isinstance(message.content, str) else json.dumps(message.content)
        if getattr(message, "status", "success") == "error":
            return _error(text)
        content = [types.TextContent(type="text", text=text)]
        if flags:
            from txscout.agent.safety import guarded_answer

            content.append(types.TextContent(type="text", text=guarded_answer(flags)))
        artifact = getattr(message, "artifact", None)
        return types.CallToolResult(
            content=content, structuredContent=artifact if isinstance(artifact, dict) else None, isError=False
        )

    @staticmethod
    def _screen(arguments: dict[str, Any]) -> str | None:
        """The question screen over a direct call's text arguments (a web search for a synthesis route is
        the same request as the question)."""
        from txscout.agent.safety import guarded_answer, screen

        for text in _texts(arguments):
            result = screen(text)
            if result.refused:
                return guarded_answer(result.flags)
        return None

    def _ask(self, args: AskArgs) -> types.CallToolResult:
        try:
            answer = self.agent().run(args.question, mode=args.mode)
        except UserError as exc:
            return _error(mask_text(str(exc), self.settings))
        structured = answer.model_dump(mode="json", exclude={"events", "evidence"})
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=render_answer(answer))],
            structuredContent=structured,
            isError=answer.status == "failed",
        )


def build_server(service: TxscoutMcp) -> Server[Any, Any]:
    """The SDK's low-level server over ``service``: tools listed with their own schemas, calls in threads."""
    server: Server[Any, Any] = Server("txscout", version=__version__, instructions=INSTRUCTIONS)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return service.listing

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(service.call, name, arguments)

    return server
