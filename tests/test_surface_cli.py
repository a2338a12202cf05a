"""What the command line says while it waits: the stages of building an agent, a model reading its
prompt, and ADMET-AI loading its networks."""

from __future__ import annotations

import io
import json
from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from rich.console import Console
from typer.testing import CliRunner

from tests.scripted import ScriptedChatModel, script
from txscout.agent.api import Agent
from txscout.agent.backends.capabilities import Capabilities
from txscout.agent.render import ConsoleRenderer
from txscout.cli import app
from txscout.core.events import PromptRead
from txscout.tools.chemistry import admet


class ReadsInBatches(ScriptedChatModel):
    """Reports reading a 1,200-token prompt in 512-token batches, as the embedded model does."""

    capabilities: ClassVar[Capabilities] = Capabilities(prompt_progress=True)

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        for done in (0, 512, 1024, 1200):
            kwargs["on_prompt"](done, 1200)
        for generation in self._generate(messages, stop=stop).generations:
            yield ChatGenerationChunk(message=AIMessageChunk(content=generation.message.content))


def test_a_run_reports_the_prompt_being_read_and_the_console_says_it_once() -> None:
    model = ReadsInBatches(responses=script("Thought: known.\nFinal Answer: forty-two").responses)
    answer = Agent(model=model, tools=[], mode="react", store=False).run("What is six times seven?")
    reading = [e for e in answer.events if isinstance(e, PromptRead)]
    assert [(e.done, e.total, e.call, e.purpose) for e in reading] == [
        (0, 1200, 1, "react"),
        (512, 1200, 1, "react"),
        (1024, 1200, 1, "react"),
        (1200, 1200, 1, "react"),
    ]
    assert answer.text == "forty-two"

    out = io.StringIO()
    renderer = ConsoleRenderer(Console(file=out, width=100))
    for event in answer.events:
        renderer(event)
    shown = out.getvalue()
    assert shown.count("reading the prompt: 1,200 tokens") == 1
    assert shown.index("reading the prompt") < shown.index("forty-two")


def test_building_an_agent_names_its_stages() -> None:
    stages: list[str] = []
    agent = Agent(model="openai:never-called", offline=True, on_stage=stages.append)
    assert stages == ["loading the model openai:never-called", "loading the tools", "opening the evidence store"]
    assert agent.warm(on_stage=stages.append) is False  # nothing to prepare: no stage announced
    assert len(stages) == 3


def test_predict_admet_from_the_cli_says_it_is_loading_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admet, "_MODEL", None)  # cold in this process, as a new `txscout tools call` is
    args = json.dumps({"molecules": ["aspirin"], "endpoints": ["hERG"]})
    result = CliRunner().invoke(app, ["tools", "call", "predict_admet", args, "--offline"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "loading ADMET-AI models…"
    assert "hERG" in result.stdout

    warm = CliRunner().invoke(app, ["tools", "call", "predict_admet", args, "--offline"])
    assert warm.exit_code == 0 and warm.stderr == ""  # loaded once per process: nothing to say
