"""The tool contract: a tool is declared once, every failure reaches the caller as a tool error, and the
run context (not the settings a tool was built with) decides whether the network is off."""

from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage
from pydantic import BaseModel, Field

from txscout.core.toolkit import Toolbox, ToolContext, ToolError, current_context, tool_context


class EchoArgs(BaseModel):
    text: str = Field(min_length=1, description="what to echo")


class Echoed(BaseModel):
    text: str
    offline: bool

    def render(self) -> str:
        return f"echo: {self.text}"


class Flaky:
    """A service whose failures are known (LookupError) or not (anything else)."""

    def answer(self, text: str) -> str:
        if text == "missing":
            raise LookupError("no such entry")
        if text == "bug":
            raise ZeroDivisionError("division by zero")
        if text == "refused":
            raise ToolError("echo: refused on purpose")
        return text


def explain(tool: str, exc: Exception) -> ToolError | None:
    return ToolError(f"{tool}: {exc}; try another entry") if isinstance(exc, LookupError) else None


BOX = Toolbox[Flaky](explain=explain)


@BOX.tool(
    """Echo the text back,
    with its context."""
)
def echo(service: Flaky, args: EchoArgs) -> Echoed:
    return Echoed(text=service.answer(args.text), offline=current_context().offline)


def call(tool: object, **args: object) -> ToolMessage:
    return tool.invoke({"name": "echo", "args": args, "id": "1", "type": "tool_call"})  # type: ignore[attr-defined]


def test_declaration_gives_name_schema_and_description_once() -> None:
    (tool,) = BOX.build(Flaky(), offline=False)
    assert tool.name == "echo"
    assert tool.description == "Echo the text back, with its context."
    assert tool.args_schema is EchoArgs
    message = call(tool, text="hi")
    assert message.content == "echo: hi" and message.artifact == {"text": "hi", "offline": False}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("missing", "echo: no such entry; try another entry"),
        ("bug", "echo failed on this input (ZeroDivisionError: division by zero)"),
        ("refused", "echo: refused on purpose"),
    ],
)
def test_every_failure_is_a_tool_error(text: str, expected: str) -> None:
    (tool,) = BOX.build(Flaky(), offline=False)
    message = call(tool, text=text)
    assert message.status == "error" and message.content == expected


def test_the_run_context_decides_offline_both_ways() -> None:
    (built_offline,) = BOX.build(Flaky(), offline=True)
    (built_online,) = BOX.build(Flaky(), offline=False)
    assert call(built_offline, text="x").artifact["offline"] is True
    with tool_context(ToolContext(offline=False)):
        assert call(built_offline, text="x").artifact["offline"] is False
    with tool_context(ToolContext(offline=True)):
        assert call(built_online, text="x").artifact["offline"] is True


def test_a_tool_must_take_a_service_and_a_schema() -> None:
    box = Toolbox[Flaky]()
    with pytest.raises(TypeError, match="must be declared as"):

        @box.tool("no schema")
        def loose(service: Flaky, text: str) -> str:
            return text


def test_a_name_is_declared_once() -> None:
    box = Toolbox[Flaky]()

    @box.tool("first")
    def twice(service: Flaky, args: EchoArgs) -> str:
        return args.text

    with pytest.raises(ValueError, match="declared twice"):
        box.tool("second")(twice)
