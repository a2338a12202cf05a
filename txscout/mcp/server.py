"""txscout as an MCP server: every tool, the agent (``ask``) and the evidence store, on the official SDK.

Tools keep their own JSON schemas and descriptions; the SDK validates arguments against them, so a bad
call is an error result and the server keeps serving. Tool calls run in worker threads (the tools and
the agent are synchronous), each in a tool context with the configured offline switch.

``ask`` reports its progress (model calls, the prompt being read, tool calls) as MCP progress
notifications when the host asks for them. Prompts offer ready-made requests (a research question, a
molecule profile); resources offer the evidence store's documents and the traces of past TUI questions.

The safety gate is the agent's: ``ask`` goes through ``Agent.run`` (question screen, then the refusal
that replaces a draft once a tool flags a structure). Direct tool calls get the same two lines: a text
argument that asks to make, obtain or deploy a flagged agent is refused before the tool runs, and a
structure a tool flags has the agent's safety notice added to the result.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from pydantic import AnyUrl, BaseModel, Field

from txscout import __version__
from txscout.core.errors import UserError
from txscout.core.events import (
    AnswerReady,
    CritiqueFinding,
    Event,
    ModelCall,
    PromptRead,
    RunStarted,
    SafetyFlagged,
    ToolCalled,
    ToolResult,
    UncertaintyRound,
    event_from_json,
)
from txscout.core.secrets import mask_text
from txscout.core.settings import Mode, data_dir
from txscout.core.toolkit import ToolContext, tool_context

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from txscout.agent.api import Agent
    from txscout.agent.result import Answer
    from txscout.core.settings import Settings
    from txscout.memory.store import EvidenceStore

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
    if answer.note:
        lines.append(f"\n({answer.note})")
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


def progress_message(event: Event) -> str | None:
    """One line for a host's progress display, for the events that mark a run's progress; none for
    streamed text (a line per token would flood the host) and for the rest."""
    if isinstance(event, RunStarted):
        return f"started: model {event.model}, mode {event.mode}"
    if isinstance(event, PromptRead):
        return f"step {event.step}: the model is reading its prompt, {event.done:,}/{event.total:,} tokens"
    if isinstance(event, ModelCall):
        return f"step {event.step}: {event.purpose} reply, {event.output_tokens:,} tokens in {event.latency_s:.1f} s"
    if isinstance(event, ToolCalled):
        return f"step {event.step}: calling {event.tool}"
    if isinstance(event, ToolResult):
        return f"step {event.step}: {event.tool} {'failed' if event.is_error else 'answered'}"
    if isinstance(event, UncertaintyRound):
        return f"uncertainty round {event.round}: entropy {event.entropy:.2f}"
    if isinstance(event, CritiqueFinding):
        return f"critique round {event.round}: {len(event.problems)} problem(s)"
    if isinstance(event, AnswerReady):
        return "answer ready"
    return None


class PromptSpec(BaseModel):
    """A prompt template the server offers: its arguments, and the tools its text asks the host to use."""

    name: str
    description: str
    arguments: list[types.PromptArgument]
    template: str
    tools: tuple[str, ...] = ()


PROMPTS = (
    PromptSpec(
        name="research_question",
        description="Ask txscout's agent a research question and report its cited answer.",
        arguments=[
            types.PromptArgument(name="question", description="The research question.", required=True),
            types.PromptArgument(
                name="mode", description="bare, react or full (default: the server's mode).", required=False
            ),
        ],
        template="Answer this research question with txscout's `ask` tool{mode}. Report its answer with the "
        "numbered sources it cites, and say plainly where the answer is incomplete or the evidence thin.\n\n"
        "Question: {question}",
        tools=("ask",),
    ),
    PromptSpec(
        name="molecule_profile",
        description="Profile a molecule with txscout's chemistry tools: identity, properties, alerts, ADMET.",
        arguments=[
            types.PromptArgument(name="molecule", description="A name, SMILES, InChI or InChIKey.", required=True)
        ],
        template="Profile the molecule {molecule} with txscout's tools: `identify_molecule` for what it is, "
        "`molecule_properties` for its properties and rule-of-five verdict, `structural_alerts` for PAINS and "
        "Brenk alerts, and `predict_admet` for ADMET predictions with their DrugBank percentiles. Give each "
        "value with the tool it came from, and mark predictions as predictions.",
        tools=("identify_molecule", "molecule_properties", "structural_alerts", "predict_admet"),
    ),
)
"""Offered only when the server has every tool a prompt names."""


def prompt_result(spec: PromptSpec, arguments: dict[str, str] | None) -> types.GetPromptResult:
    """The prompt's message with the arguments filled in; a missing required one is an error."""
    given = {k: v.strip() for k, v in (arguments or {}).items() if isinstance(v, str) and v.strip()}
    missing = [a.name for a in spec.arguments if a.required and a.name not in given]
    if missing:
        raise ValueError(f"prompt {spec.name!r} needs {', '.join(missing)}")
    values = {a.name: given.get(a.name, "") for a in spec.arguments}
    if "mode" in values:
        values["mode"] = f" in {values['mode']} mode" if values["mode"] else ""
    return types.GetPromptResult(
        description=spec.description,
        messages=[
            types.PromptMessage(
                role="user", content=types.TextContent(type="text", text=spec.template.format(**values))
            )
        ],
    )


EVIDENCE_URI = "txscout://evidence/"
TRACE_URI = "txscout://traces/"
LISTED_TRACES = 200
"""The newest traces listed; older ones stay readable by URI."""


def _trace_question(path: Path) -> str:
    """The question a trace opens with, read from its first line only."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = event_from_json(fh.readline())
    except (OSError, ValueError):
        return ""
    return first.question if isinstance(first, RunStarted) else ""


class TxscoutMcp:
    """What the server serves; built once per process, the agent (and its model) on the first ``ask``."""

    def __init__(
        self,
        settings: Settings,
        *,
        tools: list[BaseTool] | None = None,
        agent_factory: Callable[[], Agent] | None = None,
        store: EvidenceStore | None = None,
        traces: Path | None = None,
    ) -> None:
        """``store`` is the evidence store whose documents are resources (the configured one by default);
        ``traces`` a folder whose JSONL traces are resources (the TUI's sessions by default)."""
        from txscout.agent.toolbox import default_tools

        self.settings = settings
        self._store = store
        self.traces = traces if traces is not None else data_dir() / "sessions"
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

    def call(
        self, name: str, arguments: dict[str, Any], progress: Callable[[str], None] | None = None
    ) -> types.CallToolResult:
        """One tool call, synchronously (the server runs it in a worker thread); ``ask`` tells
        ``progress`` how its run goes."""
        if name == "ask":
            return self._ask(AskArgs.model_validate(arguments), progress)
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
            if result.requested:  # a molecule argument names the agent without being a question about it
                return guarded_answer(result.flags)
        return None

    def _ask(self, args: AskArgs, progress: Callable[[str], None] | None = None) -> types.CallToolResult:
        def on_event(event: Event) -> None:
            message = progress_message(event)
            if message is not None and progress is not None:
                progress(message)

        if self._agent is None and progress is not None:
            progress("loading the model and tools (the first question only)")
        try:
            answer = self.agent().run(args.question, mode=args.mode, on_event=on_event)
        except UserError as exc:
            return _error(mask_text(str(exc), self.settings))
        structured = answer.model_dump(mode="json", exclude={"events", "evidence"})
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=render_answer(answer))],
            structuredContent=structured,
            isError=answer.status == "failed",
        )

    # --- prompts and resources ---------------------------------------------------------------------

    def prompts(self) -> list[PromptSpec]:
        available = {*self.tools, "ask"}
        return [spec for spec in PROMPTS if set(spec.tools) <= available]

    def prompt(self, name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
        spec = next((p for p in self.prompts() if p.name == name), None)
        if spec is None:
            raise ValueError(f"unknown prompt {name!r}; available: {', '.join(p.name for p in self.prompts())}")
        return prompt_result(spec, arguments)

    def store(self) -> EvidenceStore:
        if self._store is None:
            from txscout.memory.store import EvidenceStore

            self._store = EvidenceStore(self.settings)
        return self._store

    def resources(self) -> list[types.Resource]:
        """The evidence store's documents, then the newest traces."""
        listed = [
            types.Resource(
                uri=AnyUrl(EVIDENCE_URI + quote(document.doc, safe="")),
                name=document.label or document.locator or document.doc,
                description=f"{document.source_kind} evidence, {document.chunks} chunks, {document.locator}",
                mimeType="text/plain",
            )
            for document in self.store().documents()
        ]
        found = sorted(self.traces.rglob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in [p for p in found if p.name != "history.jsonl"][:LISTED_TRACES]:
            relative = path.relative_to(self.traces).as_posix()
            question = _trace_question(path)
            listed.append(
                types.Resource(
                    uri=AnyUrl(TRACE_URI + quote(relative)),
                    name=f"trace: {question}" if question else f"trace {relative}",
                    description=f"the events of one txscout run ({relative}), one JSON object a line",
                    mimeType="application/x-ndjson",
                )
            )
        return listed

    def read(self, uri: str) -> ReadResourceContents:
        """A resource's text: a document's chunks with its provenance, or a trace file as written."""
        if uri.startswith(EVIDENCE_URI):
            chunks = self.store().document(unquote(uri.removeprefix(EVIDENCE_URI)))
            if not chunks:
                raise ValueError(f"no stored document {uri}")
            first = chunks[0]
            head = [first.title, first.citation()]
            text = "\n".join([*filter(None, head), "", *(chunk.text for chunk in chunks)])
            return ReadResourceContents(content=text, mime_type="text/plain")
        if uri.startswith(TRACE_URI):
            root = self.traces.resolve()
            path = (root / unquote(uri.removeprefix(TRACE_URI))).resolve()
            if not path.is_relative_to(root) or path.suffix != ".jsonl" or not path.is_file():
                raise ValueError(f"no trace {uri}")
            return ReadResourceContents(
                content=path.read_text(encoding="utf-8", errors="replace"), mime_type="application/x-ndjson"
            )
        raise ValueError(f"unknown resource {uri}; txscout serves {EVIDENCE_URI}… and {TRACE_URI}…")


def build_server(service: TxscoutMcp) -> Server[Any, Any]:
    """The SDK's low-level server over ``service``: tools listed with their own schemas, calls in threads."""
    server: Server[Any, Any] = Server("txscout", version=__version__, instructions=INSTRUCTIONS)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return service.listing

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(service.call, name, arguments, _progress_sender(server))

    _serve_prompts_and_resources(server, service)
    return server


def _progress_sender(server: Server[Any, Any]) -> Callable[[str], None] | None:
    """For the request being handled, a function that sends a progress notification from the worker
    thread, when the host asked for progress (a ``progressToken``)."""
    context = server.request_context
    token = context.meta.progressToken if context.meta is not None else None
    if token is None:
        return None
    counter = itertools.count(1)

    def send(message: str) -> None:
        notify = functools.partial(
            context.session.send_progress_notification,
            token,
            float(next(counter)),
            message=message,
            related_request_id=str(context.request_id),
        )
        anyio.from_thread.run(notify)

    return send


def _serve_prompts_and_resources(server: Server[Any, Any], service: TxscoutMcp) -> None:
    @server.list_prompts()
    async def list_prompts() -> list[types.Prompt]:
        return [types.Prompt(name=p.name, description=p.description, arguments=p.arguments) for p in service.prompts()]

    @server.get_prompt()
    async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
        return service.prompt(name, arguments)

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        return await anyio.to_thread.run_sync(service.resources)

    @server.read_resource()
    async def read_resource(uri: AnyUrl) -> list[ReadResourceContents]:
        return [await anyio.to_thread.run_sync(service.read, str(uri))]
