"""What a chat model can do, asked once: phases say what they want, the backend says how to ask for it.

LangChain chat models share one interface but not one set of request options. The embedded llama.cpp
model takes a GBNF grammar and a seed per call and generates one reply at a time; the OpenAI API
returns ``n`` replies from one request; most models take neither. A :class:`Backend` wraps any
``BaseChatModel`` with its :class:`Capabilities` and turns what a phase wants (this grammar, that
seed) into the keyword arguments this model accepts, leaving out what it cannot use. A grammar is an
aid for small models, not a requirement: a model without grammar support answers unconstrained.

A model class declares what it supports with a ``capabilities`` class attribute (see
``LocalChatModel``); models that declare nothing get :class:`Capabilities` defaults, which every chat
model satisfies. Whoever builds a model and knows more about the server behind it passes the
capabilities explicitly: ``Backend(model, Capabilities(native_n=True))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool


class Capabilities(BaseModel):
    """Request options a chat model accepts beyond the common ones (messages, temperature, stop)."""

    model_config = ConfigDict(frozen=True)

    grammar: bool = False
    """Takes a GBNF grammar per call (``grammar="root ::= ..."``) and only produces replies it accepts."""
    native_n: bool = False
    """Takes ``n`` and returns ``n`` generations from one request (one prompt evaluation)."""
    serial: bool = False
    """Generates one reply at a time: concurrent requests would only queue, so samples are requested in turn."""
    seeded: bool = False
    """Takes a per-call ``seed`` and is deterministic for a given seed: samples need distinct seeds to differ."""
    prompt_state: bool = False
    """Keeps its state after a long system prompt, in its context and on disk, and ``prepare(system)`` reads
    one ahead: a question asked later, in this process or a new one, skips reading it (``Agent.warm``)."""
    prompt_progress: bool = False
    """Takes a per-call ``on_prompt(done, total)`` and calls it while reading the prompt, before the first
    token: prompt tokens in the context so far, and in all."""
    picks_tools: bool = True
    """Chooses its own tools and their arguments well enough to be given tool steps. A model that does
    not (the tiny embedded ones copy well and choose badly: offered tools, they call chemistry tools with
    the question as the molecule until the step limit) is offered none: the agent's plan (grounding,
    evidence first) decides what is looked up, and the model answers from what it was shown."""
    cancellable: bool = False
    """Takes a per-call ``cancel`` (a ``threading.Event``) and stops once it is set even where no text comes
    back to check it between, such as while reading a long prompt."""


@dataclass(frozen=True)
class Grammar:
    """A GBNF grammar with the reply length it needs: ``max_tokens`` is requested only together with
    the grammar, because it is sized to the longest reply the grammar allows (an unconstrained model
    could need more)."""

    gbnf: str
    max_tokens: int | None = None


def declared(model: BaseChatModel) -> Capabilities:
    """The capabilities ``model``'s class declares, or the defaults when it declares none."""
    found = getattr(type(model), "capabilities", None)
    return found if isinstance(found, Capabilities) else Capabilities()


class Backend:
    """A chat model with what it supports; builds each request's backend-specific keyword arguments."""

    def __init__(self, model: BaseChatModel, capabilities: Capabilities | None = None) -> None:
        self.model = model
        self.capabilities = capabilities or declared(model)

    @classmethod
    def of(cls, model: BaseChatModel | Backend) -> Backend:
        """``model`` itself when it is a backend already, else wrapped with its declared capabilities."""
        return model if isinstance(model, Backend) else cls(model)

    def __repr__(self) -> str:
        return f"Backend({type(self.model).__name__}, {self.capabilities!r})"

    @property
    def grammar(self) -> bool:
        return self.capabilities.grammar

    @property
    def native_n(self) -> bool:
        return self.capabilities.native_n

    @property
    def serial(self) -> bool:
        return self.capabilities.serial

    def request(
        self,
        *,
        grammar: str | Grammar | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        n: int | None = None,
        cancel: threading.Event | None = None,
        on_prompt: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for one ``invoke``/``generate`` of this model.

        ``grammar``, ``seed`` and ``cancel`` are left out where the model does not take them; ``temperature`` is
        common to every chat model. ``n`` > 1 is only valid with ``native_n`` (ask ``sample_workers``
        how to get several replies otherwise), and raises ``ValueError`` rather than silently
        returning one reply.
        """
        kwargs: dict[str, Any] = {}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if grammar is not None and self.capabilities.grammar:
            spec = grammar if isinstance(grammar, Grammar) else Grammar(grammar)
            kwargs["grammar"] = spec.gbnf
            if spec.max_tokens is not None:
                kwargs["max_tokens"] = spec.max_tokens
        if seed is not None and self.capabilities.seeded:
            kwargs["seed"] = seed
        if cancel is not None and self.capabilities.cancellable:
            kwargs["cancel"] = cancel
        if on_prompt is not None and self.capabilities.prompt_progress:
            kwargs["on_prompt"] = on_prompt
        if n is not None and n > 1:
            if not self.capabilities.native_n:
                raise ValueError(f"{type(self.model).__name__} does not take n; request {n} replies separately")
            kwargs["n"] = n
        return kwargs

    def sample_workers(self, n: int, cap: int = 8) -> int:
        """How many of ``n`` separate requests to have in flight at once."""
        return 1 if self.capabilities.serial else max(1, min(n, cap))

    def bind_tools(self, tools: Sequence[BaseTool]) -> Runnable[Any, Any] | None:
        """The model with native tool calling bound to ``tools``, or None when the model has none."""
        try:
            return self.model.bind_tools(tools)
        except NotImplementedError:
            return None


def connection_error(exc: BaseException) -> bool:
    """Whether a model call failed because the endpoint could not be reached or did not answer in time,
    as opposed to rejecting the request: the builtin ``ConnectionError``, LangChain's standard
    ``ModelConnectionError``/``ModelTimeoutError``, httpx's connect errors and timeouts, and the OpenAI
    client's connection and timeout errors (which wrap httpx's)."""
    import httpx
    from langchain_core.exceptions import ModelConnectionError, ModelTimeoutError

    kinds: tuple[type[BaseException], ...] = (
        ConnectionError,
        ModelConnectionError,
        ModelTimeoutError,
        httpx.ConnectError,
        httpx.TimeoutException,
    )
    try:
        import openai
    except ImportError:
        pass
    else:
        kinds += (openai.APIConnectionError, openai.APITimeoutError)
    return isinstance(exc, kinds)
