"""One tool call as the run makes it: refused with a reason the model can act on, or run in a worker
with a timeout and every failure turned into an observation, never an exception.

``Run.call_tool`` owns the budget, the events and the record of calls (:class:`Observation`); this
module decides whether a call runs and what it gave back (:class:`ToolOutcome`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException
from pydantic import ValidationError

from txscout.agent.arguments import misplaced_question
from txscout.core.errors import validation_problems
from txscout.core.toolkit import ToolContext, tool_context, unusable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.tools import BaseTool

_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="txscout-tool")
EVENT_OUTPUT_CAP = 4000


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call gave back: the text the model reads and, from tools that return one
    (``response_format="content_and_artifact"``), the structured artifact that code reads instead of
    parsing the text back."""

    text: str
    is_error: bool
    artifact: Any = None


@dataclass(frozen=True)
class Observation:
    """A tool call the run executed, with its outcome; ``Run.observations`` keeps them in call order."""

    tool: str
    args: dict[str, Any]
    outcome: ToolOutcome
    step: int = 0
    automatic: bool = False


def call_key(name: str, args: dict[str, Any]) -> str:
    return f"{name}:{json.dumps(args, sort_keys=True, default=str)}"


def refusal(
    tool: BaseTool | None,
    name: str,
    args: dict[str, Any],
    *,
    repeated: bool,
    offered: Sequence[BaseTool],
    offline: bool,
    question: str,
) -> ToolOutcome | None:
    """Why a call is not run (unknown tool, a repeat, invalid arguments), or None to run it."""
    available = f"Available tools: {', '.join(t.name for t in offered)}." if offered else "No tools are available."
    if tool is None:
        return ToolOutcome(f"Unknown tool '{name}'. {available}", True)
    cannot = unusable(tool, offline=offline)
    if cannot:
        return ToolOutcome(f"{name} was not called: it {cannot}. {available}", True)
    misplaced = misplaced_question(tool, args, question)
    if misplaced:
        return ToolOutcome(misplaced, True)
    if repeated:
        return ToolOutcome(
            f"You already called {name} with these arguments; its result is above. "
            "Use it, try different arguments, or give the Final Answer.",
            False,
        )
    if tool.args_schema is not None and isinstance(tool.args_schema, type):
        try:
            tool.args_schema.model_validate(args)
        except ValidationError as exc:
            expected = json.dumps(tool.tool_call_schema.model_json_schema().get("properties", {}))
            problems = validation_problems(exc, "arguments")
            return ToolOutcome(f"Invalid arguments for {name}: {problems}. Expected: {expected}", True)
    return None


def execute(tool: BaseTool, args: dict[str, Any], key: str, context: ToolContext, timeout_s: float) -> ToolOutcome:
    """Run the tool in a worker, under ``context``, for at most ``timeout_s``."""

    def invoke() -> Any:
        with tool_context(context):
            return tool.invoke({"name": tool.name, "args": args, "id": key[:64], "type": "tool_call"})

    future = _EXECUTOR.submit(invoke)
    try:
        message = future.result(timeout=timeout_s)
    except FutureTimeout:
        return ToolOutcome(f"{tool.name} did not finish within {timeout_s:g} s.", True)
    except ToolException as exc:
        return ToolOutcome(str(exc), True)
    except Exception as exc:
        return ToolOutcome(f"{tool.name} failed: {type(exc).__name__}: {exc}", True)
    if not isinstance(message, ToolMessage):
        return ToolOutcome(_as_text(message), False)
    return ToolOutcome(_as_text(message.content), message.status == "error", message.artifact)


def _as_text(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content, default=str)
