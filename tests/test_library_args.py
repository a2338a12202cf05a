"""The library refuses wrong arguments with the error a caller can act on (TypeError for a wrong type,
ValueError for a value outside the choices), before any model call, on every way to run a question."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import txscout
from tests.scripted import ScriptedChatModel, script
from txscout import Agent, Choices


@pytest.fixture
def model() -> ScriptedChatModel:
    return script("Final Answer: never written")


def _agent(model: ScriptedChatModel) -> Agent:
    return Agent(model=model, tools=[], mode="bare", store=False)


def _run(agent: Agent, *args: Any, **kwargs: Any) -> object:
    return agent.run(*args, **kwargs)


def _stream(agent: Agent, *args: Any, **kwargs: Any) -> object:
    return next(iter(agent.stream(*args, **kwargs)))


def _arun(agent: Agent, *args: Any, **kwargs: Any) -> object:
    return asyncio.run(agent.arun(*args, **kwargs))


def _astream(agent: Agent, *args: Any, **kwargs: Any) -> object:
    async def first() -> object:
        async for event in agent.astream(*args, **kwargs):
            return event
        return None

    return asyncio.run(first())


WAYS: dict[str, Callable[..., object]] = {"run": _run, "stream": _stream, "arun": _arun, "astream": _astream}

BAD: dict[str, tuple[tuple[Any, ...], dict[str, Any], type[Exception], str]] = {
    "question None": ((None,), {}, TypeError, "question must be a str, not NoneType"),
    "question int": ((5,), {}, TypeError, "question must be a str, not int"),
    "choices str": (("hi",), {"choices": "abc"}, TypeError, "choices must be a txscout.Choices"),
    "mode unknown": (("hi",), {"mode": "turbo"}, ValueError, "mode must be one of bare, react, full"),
}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_raise_before_any_model_call(way: str, case: str, model: ScriptedChatModel) -> None:
    args, kwargs, error, message = BAD[case]
    with pytest.raises(error, match=message):
        WAYS[way](_agent(model), *args, **kwargs)
    assert model.prompts == []


@pytest.mark.parametrize("bad", [123, 1.5, object(), ["local"]])
def test_agent_refuses_a_model_that_is_not_one(bad: object) -> None:
    with pytest.raises(TypeError, match=f"model must be a spec .* not {type(bad).__name__}"):
        Agent(model=bad, tools=[], store=False)  # type: ignore[arg-type]


def test_agent_refuses_an_unknown_mode(model: ScriptedChatModel) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        Agent(model=model, tools=[], mode="turbo", store=False)  # type: ignore[arg-type]


def test_the_same_arguments_done_right_run(model: ScriptedChatModel) -> None:
    answer = txscout.Agent(model=model, tools=[], store=False).run(
        "Which letter? A. one B. two", mode="bare", choices=Choices(answers=["A", "B"])
    )
    assert answer.mode == "bare" and len(model.prompts) == 1
