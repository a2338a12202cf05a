"""Chat models served over the OpenAI API by someone else's server: vLLM, Ollama, llama.cpp, LM Studio, OpenAI.

``ChatOpenAI`` speaks to all of them, with three gaps :class:`EndpointChatModel` closes, each met with a
real server:

- An assistant turn that only calls tools is sent with ``"content": null``. OpenAI accepts that; other
  servers do not (llama-cpp-python answers 500 with a validation error per turn). An empty string is
  accepted everywhere, so that is what goes out.
- ``n`` samples in one request is an OpenAI feature that many servers ignore, answering one choice. The
  missing samples are asked for again, concurrently, so a caller always gets the ``n`` it asked for.
- A failed request (after the client's own bounded retries with backoff) becomes one readable line
  naming the endpoint and the cause, instead of the server's full error body.

llama.cpp's servers also take a GBNF grammar per request, as the embedded model does; small models need
it to follow the text protocol. :class:`GrammarEndpointChatModel` declares that and sends it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.language_models.chat_models import LanguageModelInput
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from txscout.agent.backends.capabilities import Capabilities
from txscout.core.errors import ModelUnavailable

_DETAIL_CHARS = 200
_TOP_UP_WORKERS = 4


def endpoint_label(base_url: str | None) -> str:
    """The endpoint as it may be shown: credentials in the URL are dropped."""
    if not base_url:
        return "the OpenAI API"
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _detail(exc: BaseException) -> str:
    """The server's own explanation, on one line and short: error bodies can be pages long."""
    body = getattr(exc, "body", None)
    text = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            text = str(inner.get("message") or inner.get("detail") or "")
        elif isinstance(inner, str):
            text = inner
    text = text or getattr(exc, "message", "") or str(exc)
    text = re.sub(r"^Error code: \d+ - ", "", text.strip())
    line = " ".join(text.splitlines()[0].split()) if text else type(exc).__name__
    return line if len(line) <= _DETAIL_CHARS else line[: _DETAIL_CHARS - 1] + "…"


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return " ".join(str(exc).split()) or type(exc).__name__


def explain(exc: ModelError, *, endpoint: str, model: str, timeout_s: float | None, attempts: int) -> str:
    """One line saying what went wrong with an endpoint request and what to do about it."""
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ModelTimeoutError):
        waited = f"within {timeout_s:g} s " if timeout_s else ""
        hint = "slow models need a higher request_timeout_s"
        return f"the model endpoint {endpoint} did not answer {waited}({tries}); {hint}"
    if isinstance(exc, ModelConnectionError):
        return f"cannot reach the model endpoint {endpoint} ({tries}): {_root_cause(exc)}"
    if isinstance(exc, ModelRateLimitError):
        return f"the model endpoint {endpoint} is rate limiting requests (HTTP 429, {tries}): {_detail(exc)}"
    if isinstance(exc, ModelAuthenticationError | ModelPermissionDeniedError):
        return (
            f"the model endpoint {endpoint} refused the API key (HTTP {status}); set OPENAI_API_KEY or TXSCOUT_API_KEY"
        )
    if isinstance(exc, ModelNotFoundError):
        return f"the model endpoint {endpoint} does not serve {model!r} (HTTP 404); see `txscout models`"
    if isinstance(exc, ContextOverflowError):
        return f"the prompt is longer than the context window of {model!r}: {_detail(exc)}"
    if isinstance(exc, ModelAPIError):
        return f"the model endpoint {endpoint} failed with HTTP {status} ({tries}): {_detail(exc)}"
    if isinstance(exc, ModelInvalidRequestError):
        return f"the model endpoint {endpoint} rejected the request (HTTP {status}): {_detail(exc)}"
    return f"the model call to {endpoint} failed: {_detail(exc)}"


class EndpointChatModel(ChatOpenAI):
    """``ChatOpenAI`` that every OpenAI-compatible server accepts, with failures explained in one line."""

    capabilities: ClassVar[Capabilities] = Capabilities(native_n=True)
    """``n`` samples come back from one request (topped up where the server ignores ``n``)."""

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        for message in payload.get("messages", ()):
            if message.get("role") == "assistant" and message.get("content") is None:
                message["content"] = ""
        return payload

    @contextlib.contextmanager
    def _explained(self) -> Iterator[None]:
        try:
            yield
        except ModelError as exc:
            timeout = self.request_timeout if isinstance(self.request_timeout, int | float) else None
            message = explain(
                exc,
                endpoint=endpoint_label(self.openai_api_base),
                model=self.model_name,
                timeout_s=timeout,
                attempts=(self.max_retries or 0) + 1,
            )
            raise ModelUnavailable(message) from exc

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        generate = super()._generate
        with self._explained():
            result = generate(messages, stop=stop, run_manager=run_manager, **kwargs)
            missing = (kwargs.get("n") or self.n or 1) - len(result.generations)
            if missing <= 0 or not result.generations:
                return result
            one = {**kwargs, "n": 1}
            with ThreadPoolExecutor(max_workers=min(missing, _TOP_UP_WORKERS)) as pool:
                extra = list(pool.map(lambda _i: generate(messages, stop=stop, **one), range(missing)))
        generations = [*result.generations, *(g for r in extra for g in r.generations)]
        return ChatResult(generations=generations, llm_output=result.llm_output)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._explained():
            yield from super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs)


class GrammarEndpointChatModel(EndpointChatModel):
    """An endpoint that takes a GBNF ``grammar`` in the request body (llama.cpp's ``llama-server`` and
    llama-cpp-python's server): replies are constrained as the embedded model's are."""

    capabilities: ClassVar[Capabilities] = Capabilities(native_n=True, grammar=True)

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        grammar = kwargs.pop("grammar", None)
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if grammar is not None:
            payload["extra_body"] = {**(payload.get("extra_body") or {}), "grammar": grammar}
        return payload
