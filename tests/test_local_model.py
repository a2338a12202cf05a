"""The embedded model's machinery: grammar checking that picks the tokens llama-cpp-python would,
threads chosen from the usable cores, and one generation at a time per process."""

from __future__ import annotations

import os
import threading
import time

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from txscout.agent import protocol
from txscout.agent.backends.local_model import LocalChatModel, thread_counts
from txscout.agent.backends.models import local_model_path
from txscout.core.settings import load_settings
from txscout.tools.chemistry import chemistry_tools

PATH = str(local_model_path("smollm2"))
OBSERVATIONS = ["Ibuprofen: C13H18O2, MW 206.28 g/mol", "Ibuprofen: MW 206.28, logP 3.07, TPSA 37.3, HBD 1, HBA 1"]


def grammar_cases() -> list[tuple[str, str, list[BaseMessage]]]:
    wanted = ("identify_molecule", "molecule_properties")  # two tools keep the prompt short and the test fast
    tools = [t for t in chemistry_tools(load_settings(offline=True)) if t.name in wanted]
    system = SystemMessage(protocol.text_system_prompt(tools))  # one prompt prefix, read once per model
    grounded = "Question: What is the molecular weight of ibuprofen?\n\nObservation: " + "\n".join(OBSERVATIONS)
    choose = "Question: Which is an NSAID? A) ibuprofen B) atorvastatin C) metoprolol D) morphine"
    about = HumanMessage("Question: What is aspirin used for?")
    return [
        ("tool call", protocol.grammar_for(tools), [system, HumanMessage("Question: What is the logP of caffeine?")]),
        ("copying", protocol.copying_grammar(OBSERVATIONS, grounded), [system, HumanMessage(grounded)]),
        (
            "closed answer",
            protocol.closed_answer_grammar(["A", "B", "C", "D"]),
            [system, HumanMessage(choose)],
        ),
        ("final only", protocol.grammar_for([], allow_actions=False), [system, about]),
    ]


def test_checked_grammar_sampling_picks_the_tokens_llama_cpp_python_would() -> None:
    """txscout tests the grammar against the chosen token first; greedy decoding must not change."""
    from llama_cpp import Llama, LlamaGrammar  # after txscout's model module, which sets OpenMP's wait policy

    ours = LocalChatModel(model_path=PATH, n_ctx=4096)
    stock = Llama(model_path=PATH, n_ctx=4096, seed=0, verbose=False)
    for name, gbnf, messages in grammar_cases():
        reply = ours.invoke(messages, grammar=gbnf, max_tokens=60).content
        expected = stock.create_chat_completion(
            messages=[LocalChatModel._convert(m) for m in messages],
            grammar=LlamaGrammar.from_string(gbnf, verbose=False),
            temperature=0.0,
            seed=0,
            max_tokens=60,
            repeat_penalty=1.15,
        )["choices"][0]["message"]["content"]
        assert reply == expected, name
        assert isinstance(protocol.parse_reply(reply), protocol.Action | protocol.Final), name


def test_threads_follow_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    assert thread_counts() == (2, 4)  # half the usable cores write, all of them read the prompt
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {5}, raising=False)
    assert thread_counts() == (1, 1)
    assert thread_counts(3) == (3, 3)  # the threads setting decides both


def test_one_generation_at_a_time_per_process() -> None:
    """Two models (two llama.cpp contexts) asked at once: the second writes only after the first is done."""
    models = [LocalChatModel(model_path=PATH, n_ctx=n_ctx, max_tokens=30) for n_ctx in (2048, 3072)]
    times: dict[int, list[float]] = {0: [], 1: []}
    first_token = threading.Event()

    def write(i: int) -> None:
        for chunk in models[i].stream([HumanMessage("Write a short poem about the sea.")], max_tokens=30):
            if chunk.content:
                times[i].append(time.monotonic())
                first_token.set()

    for model in models:
        model.llama()
    first = threading.Thread(target=write, args=(0,))
    first.start()
    assert first_token.wait(120)
    second = threading.Thread(target=write, args=(1,))
    second.start()
    first.join(120)
    second.join(120)
    assert len(times[0]) > 5 and len(times[1]) > 5
    assert min(times[1]) > max(times[0])


def test_reading_a_prompt_reports_its_progress_batch_by_batch() -> None:
    """Ahead of a question (``prepare``) and before a reply's first token, the model says how far it has
    read; tokens the context already holds count as read."""
    system = "You answer questions about kinase inhibitors. " + "Imatinib inhibits BCR-ABL in CML. " * 50
    model = LocalChatModel(model_path=PATH, n_ctx=1536, max_tokens=8)  # a context of its own: nothing held
    ahead: list[tuple[int, int]] = []
    model.prepare(system, on_prompt=lambda done, total: ahead.append((done, total)))
    total = ahead[0][1]
    assert ahead[0][0] == 0 and total > 512
    batches = [(min(done, total), total) for done in range(512, total + 511, 512)]
    assert ahead == [(0, total), *batches]  # one report before reading, one per 512-token batch

    asked: list[tuple[int, int]] = []
    chunks = list(
        model.stream(
            [SystemMessage(system), HumanMessage("Which kinase does imatinib inhibit?")],
            on_prompt=lambda done, total: asked.append((done, total)),
        )
    )
    prompt_tokens = sum(chunk.usage_metadata["input_tokens"] for chunk in chunks if chunk.usage_metadata)
    assert asked[0][0] >= total - 1  # the system prompt was held, so reading starts after it
    assert asked[-1] == (prompt_tokens, prompt_tokens)
    assert [done for done, _ in asked] == sorted(done for done, _ in asked)
