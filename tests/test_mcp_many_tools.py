"""A server with 2,000 tools (a real FastMCP server on 127.0.0.1, started once per session): every tool
loads, the prompt of a run over all of them fits the embedded model's context, a question stating a
tool's purpose gets that tool offered, and ``tools list``/``tools call`` reach the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fake_embedder import HashEmbedder
from tests.many_tools_server import COUNT, DISTINCT
from tests.scripted import script
from txscout.agent.api import Agent
from txscout.agent.backends.local_model import LocalChatModel
from txscout.agent.mcp_tools import McpServers
from txscout.agent.plan.tool_choice import ToolChooser
from txscout.agent.toolbox import default_tools
from txscout.cli import app
from txscout.core.events import RunStarted
from txscout.core.settings import load_settings

REPLY_ROOM = 320
"""Tokens the embedded model may write in one reply (``LocalChatModel.max_tokens``)."""


@pytest.fixture(scope="module")
def config(many_tools_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("many") / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"many": {"url": f"{many_tools_server.origin}/mcp"}}}))
    return path


@pytest.fixture(scope="module")
def servers(config: Path) -> Iterator[McpServers]:
    servers = McpServers(config, call_timeout_s=30)
    yield servers
    servers.close()


@pytest.fixture(scope="module")
def tokenizer() -> Iterator[Any]:
    """SmolLM2's own tokenizer (the GGUF's vocabulary only, no weights)."""
    from llama_cpp import Llama

    from txscout.agent.backends.models import local_model_path

    llama = Llama(model_path=str(local_model_path("smollm2")), vocab_only=True, verbose=False)
    yield llama
    llama.close()


def prompt_tokens(tokenizer: Any, messages: list[Any]) -> int:
    text = "\n".join(f"<|im_start|>{m.type}\n{m.content}<|im_end|>" for m in messages)
    return len(tokenizer.tokenize(text.encode(), add_bos=True, special=True))


def test_every_tool_of_the_server_loads(servers: McpServers) -> None:
    assert servers.problems == []
    assert len(servers.tools) == COUNT + len(DISTINCT) >= 2000


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        (
            "Plan a 3+3 dose escalation for my phase I oncology trial: one dose-limiting toxicity in cohort two.",
            "many_dose_escalation_planner",
        ),
        (
            "Which antivenom neutralises the venom of a saw-scaled viper, and how many vials?",
            "many_snake_venom_neutraliser",
        ),
        ("Count the adverse event records in the public registry for this quarter.", "many_count_adverse_event_0"),
    ],
)
def test_a_question_stating_a_tools_purpose_gets_it_within_the_context(
    servers: McpServers, tokenizer: Any, question: str, wanted: str
) -> None:
    settings = load_settings(offline=True)
    model = script("Thought: done.\nFinal Answer: done")
    agent = Agent(model=model, tools=[*default_tools(settings), *servers.tools], settings=settings, store=False)
    # Bag-of-words vectors: embedding 2,000 descriptions with MiniLM takes about 40 s of CPU, too long for
    # the suite; ranking by meaning is tested on a few tools in test_tool_choice, and measured on this
    # scale by benchmarks/perf/tool_choice_perf.py.
    agent.chooser = ToolChooser(encoder=HashEmbedder())
    answer = agent.run(question, mode="react")
    run = next(e for e in answer.events if isinstance(e, RunStarted))
    assert wanted in run.tools and len(run.tools) <= settings.max_offered_tools
    assert run.tool_choice["available"] >= 2000
    system = str(model.prompts[0][0].content)
    assert f"- {wanted}:" in system
    n_ctx = LocalChatModel.model_fields["n_ctx"].default
    assert prompt_tokens(tokenizer, model.prompts[0]) + REPLY_ROOM <= n_ctx


def test_tools_list_and_call_take_the_mcp_config(config: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["tools", "list", "--mcp-config", str(config), "--json"])
    assert listed.exit_code == 0, listed.output
    names = {tool["name"] for tool in json.loads(listed.stdout)}
    assert len(names) >= 2000 and "many_snake_venom_neutraliser" in names and "identify_molecule" in names
    called = runner.invoke(
        app,
        ["tools", "call", "many_snake_venom_neutraliser", '{"query": "saw-scaled viper"}', "--mcp-config", str(config)],
    )
    assert called.exit_code == 0, called.output
    assert "snake_venom_neutraliser answered: saw-scaled viper" in called.stdout
