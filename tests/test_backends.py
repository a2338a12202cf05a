"""Backends by capability: what a model declares decides the request it gets, never its name."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import httpx
import openai
import pytest
from langchain_core.exceptions import ModelConnectionError
from langchain_core.messages import AIMessage, HumanMessage

from tests.sampling_fakes import Batched, EmbeddedLike, LockedScript, locked
from txscout.agent.backends.capabilities import Backend, Capabilities, Grammar, connection_error
from txscout.agent.backends.local_model import LocalChatModel
from txscout.agent.run import Run
from txscout.core.settings import load_settings


def test_a_model_that_declares_nothing_gets_only_common_options() -> None:
    backend = Backend(locked())
    assert backend.capabilities == Capabilities()
    assert backend.request(grammar="root ::= x", seed=3, temperature=0.5) == {"temperature": 0.5}
    assert backend.sample_workers(5) == 5
    with pytest.raises(ValueError, match="does not take n"):
        backend.request(n=5)


def test_declared_capabilities_shape_the_request() -> None:
    embedded = Backend(EmbeddedLike(responses=[]))
    assert embedded.request(grammar=Grammar("root ::= x", max_tokens=96), seed=2) == {
        "grammar": "root ::= x",
        "max_tokens": 96,
        "seed": 2,
    }
    assert embedded.request(grammar="root ::= y") == {"grammar": "root ::= y"}
    assert embedded.sample_workers(5) == 1
    assert Backend(Batched(batches=[])).request(n=4, temperature=0.7) == {"temperature": 0.7, "n": 4}
    assert LocalChatModel.capabilities == Capabilities(
        grammar=True,
        serial=True,
        seeded=True,
        cancellable=True,
        prompt_state=True,
        prompt_progress=True,
        picks_tools=False,
    )
    stop = threading.Event()
    assert Backend(LocalChatModel.model_construct()).request(cancel=stop) == {"cancel": stop}
    assert embedded.request(cancel=stop) == {}  # a model that does not take it is stopped between chunks
    heard = print
    assert Backend(LocalChatModel.model_construct()).request(on_prompt=heard) == {"on_prompt": heard}
    assert embedded.request(on_prompt=heard) == {}  # a model that cannot report is not asked to


def test_explicit_capabilities_override_the_declared_ones() -> None:
    backend = Backend(locked(), Capabilities(seeded=True))
    assert backend.request(seed=1) == {"seed": 1}
    assert Backend.of(backend) is backend


def test_connection_errors_are_classified_by_type() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    unreachable = [
        ConnectionRefusedError(111, "refused"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        openai.APIConnectionError(request=request),
        openai.APITimeoutError(request=request),
        ModelConnectionError("refused"),
    ]
    assert all(connection_error(exc) for exc in unreachable)

    class ConnectErrorLookalike(Exception):
        """Named like a connection error, but it is not one."""

    rejected = openai.BadRequestError("bad", response=httpx.Response(400, request=request), body=None)
    assert not any(connection_error(exc) for exc in (ValueError("x"), rejected, ConnectErrorLookalike("x")))


class IgnoresN(LockedScript):
    """Declares native ``n`` but answers one reply per request, as some OpenAI-compatible servers do."""

    capabilities: ClassVar[Capabilities] = Capabilities(native_n=True)


def test_samples_are_topped_up_when_a_batched_backend_returns_fewer() -> None:
    model = IgnoresN(responses=[AIMessage(f"reply {i}") for i in range(3)])
    run = Run(model=model, tools=[], settings=load_settings(), emit=lambda _e: None)
    replies = run.sample([HumanMessage("q")], n=3, purpose="uncertainty", temperature=0.9)
    assert sorted(r.text for r in replies) == ["reply 0", "reply 1", "reply 2"]
    assert [kw.get("n") for kw in model.kwargs_seen] == [3, None, None]
    assert all(kw["temperature"] == 0.9 for kw in model.kwargs_seen)


def test_native_tool_calling_is_detected_by_trying_it() -> None:
    from tests.scripted import script

    assert Backend(script()).bind_tools([]) is None
    native: Any = script(native=True)
    assert Backend(native).bind_tools([]) is native
