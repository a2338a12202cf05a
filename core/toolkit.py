"""What every txscout tool shares: typed inputs, structured outputs, clean errors and a run context.

Tools stay plain LangChain ``StructuredTool`` objects so they work unchanged in other agents. What a
txscout run adds (an event sink, the evidence ledger, the offline switch) reaches them through a
context variable; outside a run that context is empty and the tools still work.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel

if TYPE_CHECKING:
    from txscout.core.events import Event
    from txscout.core.evidence import Evidence

A = TypeVar("A", bound=BaseModel)


class ToolError(ToolException):
    """A failure the caller can act on (bad input, network off, not found); shown as the observation."""


@dataclass
class ToolContext:
    """Per-run services for tools. Defaults make every tool usable outside a txscout run."""

    emit: Callable[[Event], None] | None = None
    add_evidence: Callable[[Evidence], int] | None = None
    offline: bool = False
    run_id: str = ""

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


def txtool(name: str, args_schema: type[A], description: str) -> Callable[[Callable[[A], Any]], BaseTool]:
    """Turn ``fn(args: Schema) -> pydantic result`` into a LangChain tool.

    The content is the compact rendering (what a model reads); the artifact is the full structured
    result (what ``txscout tools call --json`` prints and what programs consume).
    """

    def decorate(fn: Callable[[A], Any]) -> BaseTool:
        def run(**kwargs: Any) -> tuple[str, Any]:
            result = fn(args_schema(**kwargs))
            return render(result), artifact(result)

        return StructuredTool.from_function(
            func=run,
            name=name,
            description=description,
            args_schema=args_schema,
            response_format="content_and_artifact",
            handle_tool_error=True,
        )

    return decorate
