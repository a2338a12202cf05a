"""The MCP server's progress notifications, prompts and resources, through the official SDK's client
connected in memory to the server (a scripted model answers ``ask``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.exceptions import McpError
from mcp.shared.memory import create_connected_server_and_client_session
from pydantic import AnyUrl

from tests.fake_embedder import HashEmbedder
from tests.scripted import script
from tests.tui_fakes import paper, search_papers, search_then_answer
from txscout.agent.api import Agent
from txscout.agent.toolbox import default_tools
from txscout.core.events import TraceWriter, read_trace
from txscout.core.settings import load_settings
from txscout.mcp.server import TxscoutMcp, build_server
from txscout.memory.store import EvidenceStore

QUESTION = "What does imatinib inhibit?"


def service(tmp_path: Path, *, tools: list | None = None) -> TxscoutMcp:
    settings = load_settings(offline=True, mode="react", max_steps=3)
    tools = tools if tools is not None else [search_papers()]

    def agent() -> Agent:
        replies = search_then_answer("imatinib")
        return Agent(model=script(*replies, *replies), tools=tools, settings=settings, store=False)

    store = EvidenceStore(path=tmp_path / "memory", embedder=HashEmbedder())
    return TxscoutMcp(settings, tools=tools, agent_factory=agent, store=store, traces=tmp_path / "sessions")


async def test_ask_sends_progress_as_the_run_goes(tmp_path: Path) -> None:
    heard: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        heard.append((progress, message))

    served = service(tmp_path)
    async with create_connected_server_and_client_session(build_server(served)) as session:
        answered = await session.call_tool("ask", {"question": QUESTION}, progress_callback=on_progress)
        first = list(heard)
        heard.clear()
        again = await session.call_tool("ask", {"question": QUESTION}, progress_callback=on_progress)
    assert not answered.isError and not again.isError
    assert (heard[0][1] or "").startswith("started: model ")  # loading is announced only once
    heard[:] = first
    messages = [message or "" for _, message in heard]
    assert messages[0] == "loading the model and tools (the first question only)"
    assert messages[1].startswith("started: model ")
    assert "step 1: calling search_papers" in messages and "step 1: search_papers answered" in messages
    assert messages[-1] == "answer ready"
    assert [progress for progress, _ in heard] == sorted({progress for progress, _ in heard})  # rising, distinct


async def test_prompts_fill_in_their_arguments_and_name_only_served_tools(tmp_path: Path) -> None:
    async with create_connected_server_and_client_session(build_server(service(tmp_path))) as session:
        names = [prompt.name for prompt in (await session.list_prompts()).prompts]
        assert names == ["research_question"]  # the chemistry tools the profile names are not served here
        got = await session.get_prompt("research_question", {"question": "  Is gefitinib BBB-penetrant? "})
        text = got.messages[0].content.text
        assert text.endswith("Question: Is gefitinib BBB-penetrant?") and "`ask` tool." in text
        moded = await session.get_prompt("research_question", {"question": "q", "mode": "full"})
        assert "`ask` tool in full mode." in moded.messages[0].content.text
        with pytest.raises(McpError, match="needs question"):
            await session.get_prompt("research_question", {})
        with pytest.raises(McpError, match="unknown prompt"):
            await session.get_prompt("no_such_prompt", {})

    full = service(tmp_path, tools=default_tools(load_settings(offline=True)))
    async with create_connected_server_and_client_session(build_server(full)) as session:
        names = [prompt.name for prompt in (await session.list_prompts()).prompts]
        assert names == ["research_question", "molecule_profile"]
        got = await session.get_prompt("molecule_profile", {"molecule": "imatinib"})
        assert "Profile the molecule imatinib" in got.messages[0].content.text


async def test_resources_are_stored_documents_and_past_traces(tmp_path: Path) -> None:
    served = service(tmp_path)
    served.store().add([paper("imatinib")])
    trace = tmp_path / "sessions" / "20260101-abc" / "traces" / "q001.jsonl"
    trace.parent.mkdir(parents=True)
    (tmp_path / "sessions" / "history.jsonl").write_text('{"question": "not a trace"}\n')
    writer = TraceWriter(trace)
    served.agent().run(QUESTION, on_event=writer)
    writer.close()

    async with create_connected_server_and_client_session(build_server(served)) as session:
        listed = {resource.name: resource for resource in (await session.list_resources()).resources}
        label = served.store().documents()[0].label  # "2001. Clinical study of imatinib in CML"
        assert "Clinical study of imatinib in CML" in label
        assert set(listed) == {label, f"trace: {QUESTION}"}

        document = await session.read_resource(listed[label].uri)
        text = document.contents[0].text
        assert "https://pubmed.ncbi.nlm.nih.gov/11287972/" in text
        assert "inhibits the BCR-ABL tyrosine kinase" in text

        events = await session.read_resource(listed[f"trace: {QUESTION}"].uri)
        assert events.contents[0].text == trace.read_text()
        assert events.contents[0].mimeType == "application/x-ndjson" and document.contents[0].mimeType == "text/plain"
        assert [e.type for e in read_trace(trace)][-1] == "run_finished"

        for outside in ("txscout://traces/..%2F..%2Fsecret.jsonl", "txscout://evidence/nothing", "file:///etc/passwd"):
            with pytest.raises(McpError):
                await session.read_resource(AnyUrl(outside))


async def test_an_empty_store_and_no_traces_list_nothing_and_create_nothing(tmp_path: Path) -> None:
    async with create_connected_server_and_client_session(build_server(service(tmp_path))) as session:
        assert (await session.list_resources()).resources == []
    assert not (tmp_path / "memory").exists()
