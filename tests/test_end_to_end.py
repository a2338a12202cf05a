"""The real embedded model and real tools, offline: the machinery works end to end."""

from __future__ import annotations

import json
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from typer.testing import CliRunner

from tests.scripted import script, tool_call
from txscout import default_tools
from txscout.cli import app
from txscout.core.events import read_trace, validate_sequence


def test_ask_with_embedded_model_writes_valid_trace(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "ask",
            "--offline",
            "--mode",
            "react",
            "--max-steps",
            "2",
            "--json",
            "--trace",
            str(trace),
            "What is the molecular formula of aspirin?",
        ],
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    events = list(read_trace(trace))
    assert validate_sequence(events) == []
    assert events[-2].type == "answer" and events[-2].text == answer["text"]
    results = [e for e in events if e.type == "tool_result"]
    assert any(e.tool == "identify_molecule" and "C9H8O4" in e.output and not e.is_error for e in results)
    assert any(e.type == "model_call" and e.output_tokens > 0 for e in events)


def test_default_tools_work_in_langchain_create_agent() -> None:
    from langchain.agents import create_agent

    model = script(tool_call("identify_molecule", {"molecule": "caffeine"}), AIMessage("done"), native=True)
    graph = create_agent(model, tools=default_tools())
    result = graph.invoke({"messages": [HumanMessage("What is caffeine's formula?")]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and "C8H10N4O2" in tool_messages[0].content
    assert result["messages"][-1].content == "done"
