"""What every txscout tool shares: typed inputs, structured outputs, clean errors and a run context.

Tools stay plain LangChain ``StructuredTool`` objects so they work unchanged in other agents. What a
txscout run adds (an event sink, the evidence ledger, the offline switch) reaches them through a
context variable; outside a run the context holds only the offline value the tool was built with, and
the tools still work.

Offline has one owner: whoever runs the tool. A run sets ``ToolContext.offline`` from its settings
for every call (so the TUI's network toggle, which changes the agent's settings, switches the tools
both ways); tools read only the context, never their own settings.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_type_hints

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel

if TYPE_CHECKING:
    from txscout.core.events import Event
    from txscout.core.evidence import Evidence

A = TypeVar("A", bound=BaseModel)
S = TypeVar("S")


NEEDS_NETWORK = "needs_network"
"""Tool metadata key: the tool answers only by going online, so an offline run does not offer it."""
UNCONFIGURED = "unconfigured"
"""Tool metadata key: why the tool cannot work with the current settings (a service not configured)."""


IDENTIFIER = "x-identifier"
"""JSON-schema key of an argument that names one thing (a molecule, an id), never a sentence: the agent
refuses a call that puts the question there (``agent.arguments``)."""
IDENTIFIER_FIELD: dict[str, Any] = {IDENTIFIER: True}
"""``json_schema_extra`` of such an argument."""


def needs_network(tool: BaseTool) -> bool:
    """Whether ``tool`` declared that it needs the network (MCP tools of a remote server do too)."""
    return bool((tool.metadata or {}).get(NEEDS_NETWORK))


def unusable(tool: BaseTool, *, offline: bool) -> str | None:
    """Why ``tool`` cannot work in a run with these settings, or None when it can: a model is never
    offered a tool whose every call would only report that it could not run."""
    meta = tool.metadata or {}
    if meta.get(UNCONFIGURED):
        return str(meta[UNCONFIGURED])
    if offline and meta.get(NEEDS_NETWORK):
        return "needs the network, and the network is off (--offline)"
    return None


class ToolError(ToolException):
    """A failure the caller can act on (bad input, network off, not found); shown as the observation."""


Explain = Callable[[str, Exception], ToolError | None]
"""Maps a tool name and an exception its package expects to the error the model should read, or None."""


@dataclass
class ToolContext:
    """Per-run services for tools. Defaults make every tool usable outside a txscout run."""

    emit: Callable[[Event], None] | None = None
    add_evidence: Callable[[Evidence], int] | None = None
    offline: bool = False
    run_id: str = ""
    status: Callable[[str], None] | None = None
    """Told what a tool is busy with when that takes a person's patience (loading a model), so the one
    waiting hears why; nowhere to tell outside a caller that sets it."""

    def notice(self, text: str) -> None:
        if self.status is not None:
            self.status(text)

    def event(self, event: Event) -> None:
        if self.emit is not None:
            event.run_id = self.run_id
            self.emit(event)

    def evidence(self, item: Evidence) -> int | None:
        """Register evidence with the run; returns its citation number, or None outside a run."""
        if self.add_evidence is None:
            return None
        item.run_id = item.run_id or self.run_id
        return self.add_evidence(item)

    def require_network(self, tool: str) -> None:
        """Refuse a network call when the run (or, outside one, the tool's settings) has the network off."""
        if self.offline:
            raise ToolError(f"{tool}: the network is off (--offline); this tool was not called")


_CONTEXT: ContextVar[ToolContext | None] = ContextVar("txscout_tool_context", default=None)


def current_context() -> ToolContext:
    return _CONTEXT.get() or ToolContext()


@contextlib.contextmanager
def tool_context(ctx: ToolContext) -> Iterator[ToolContext]:
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def _compact(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def render(result: Any) -> str:
    """Text for the model: a result's own ``render()`` when it has one, else compact JSON.

    Compact means no empty fields and four significant digits, because small models copy what they
    see and long numbers waste their context.
    """
    if isinstance(result, str):
        return result
    custom = getattr(result, "render", None)
    if callable(custom):
        return str(custom())
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    return json.dumps(_compact(data), ensure_ascii=False, separators=(", ", ": "))


def artifact(result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def _guarded(name: str, fn: Callable[[A], Any], explain: Explain | None) -> Callable[[A], Any]:
    """Every failure leaves a tool as a ``ToolError``: the ones ``explain`` knows (a network outage, a
    blocked URL) in its words, unexpected ones (an RDKit edge case, a broken install) with their type.

    LangChain hands only ``ToolException`` back as an observation; anything else escaping a tool
    would end the caller's run (or print a traceback from ``txscout tools call``).
    """

    def run(args: A) -> Any:
        try:
            return fn(args)
        except ToolError:
            raise
        except Exception as exc:
            known = explain(name, exc) if explain is not None else None
            if known is not None:
                raise known from exc
            raise ToolError(f"{name} failed on this input ({exc.__class__.__name__}: {str(exc)[:200]})") from exc

    return run


def txtool(
    name: str,
    args_schema: type[A],
    description: str,
    *,
    offline: bool = False,
    explain: Explain | None = None,
    metadata: dict[str, Any] | None = None,
) -> Callable[[Callable[[A], Any]], BaseTool]:
    """Turn ``fn(args: Schema) -> pydantic result`` into a LangChain tool.

    The content is the compact rendering (what a model reads); the artifact is the full structured
    result (what ``txscout tools call --json`` prints and what programs consume). Outside a run the
    tool runs in a context whose ``offline`` is the given value (the settings the tool was built
    with); inside a run the run's context decides, so whoever owns the run can switch the network.
    ``metadata`` holds the tool's declared capabilities (:data:`NEEDS_NETWORK`, :data:`UNCONFIGURED`).
    """

    def decorate(fn: Callable[[A], Any]) -> BaseTool:
        guarded = _guarded(name, fn, explain)

        def run(**kwargs: Any) -> tuple[str, Any]:
            with contextlib.ExitStack() as stack:
                if _CONTEXT.get() is None:
                    stack.enter_context(tool_context(ToolContext(offline=offline)))
                result = guarded(args_schema(**kwargs))
            return render(result), artifact(result)

        return StructuredTool.from_function(
            func=run,
            name=name,
            description=description,
            args_schema=args_schema,
            response_format="content_and_artifact",
            handle_tool_error=True,
            metadata=dict(metadata or {}),
        )

    return decorate


@dataclass(frozen=True)
class ToolSpec(Generic[S]):
    """One declared tool: the function that runs it over a service, and what the model is told."""

    name: str
    description: str
    args_schema: type[BaseModel]
    fn: Callable[[S, Any], Any]
    needs_network: bool | Callable[[S], bool] = False
    """Whether the tool only works online; a callable decides from the service (a configured endpoint
    on this machine needs no network)."""
    unconfigured: Callable[[S], str | None] | None = None
    """Why the tool cannot work over a given service (a setting it needs is missing), or None."""

    def capabilities(self, service: S) -> dict[str, Any]:
        network = self.needs_network(service) if callable(self.needs_network) else self.needs_network
        missing = self.unconfigured(service) if self.unconfigured is not None else None
        return {NEEDS_NETWORK: network, **({UNCONFIGURED: missing} if missing else {})}


class Toolbox(Generic[S]):
    """A package's tools, each declared once next to its description and built over one service.

    ``@toolbox.tool("description")`` on ``def name(service: S, args: Schema) -> Result`` declares a
    tool: its name is the function's name, its arguments are the annotated schema, and every tool
    shares one guard (:func:`txtool`), to which ``explain`` adds the package's own failures. A tool that
    only works online says so (``needs_network``), so an offline run does not offer it.
    Declarations are module-level, so listing them needs no settings; ``build`` binds them to a service
    (the clients built from settings) when a run needs them.
    """

    def __init__(self, explain: Explain | None = None) -> None:
        self.specs: list[ToolSpec[S]] = []
        self.explain = explain

    def tool(
        self,
        description: str,
        *,
        needs_network: bool | Callable[[S], bool] = False,
        unconfigured: Callable[[S], str | None] | None = None,
    ) -> Callable[[Callable[[S, Any], Any]], Callable[[S, Any], Any]]:
        def declare(fn: Callable[[S, Any], Any]) -> Callable[[S, Any], Any]:
            params = list(inspect.signature(fn).parameters)
            schema = get_type_hints(fn).get(params[1]) if len(params) == 2 else None
            if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
                raise TypeError(f"tool {fn.__name__} must be declared as (service, args: <pydantic model>)")
            if any(spec.name == fn.__name__ for spec in self.specs):
                raise ValueError(f"tool {fn.__name__} is declared twice")
            text = " ".join(description.split())
            self.specs.append(ToolSpec(fn.__name__, text, schema, fn, needs_network, unconfigured))
            return fn

        return declare

    def build(self, service: S, *, offline: bool) -> list[BaseTool]:
        """The declared tools over ``service``; ``offline`` applies when a tool is called outside a run."""
        return [
            txtool(
                spec.name,
                spec.args_schema,
                spec.description,
                offline=offline,
                explain=self.explain,
                metadata=spec.capabilities(service),
            )(functools.partial(spec.fn, service))
            for spec in self.specs
        ]
