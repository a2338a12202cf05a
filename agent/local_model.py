"""The embedded model: a GGUF file run in-process by llama-cpp-python, as a LangChain chat model.

Weights load once per process and per file. Consecutive calls that share a prompt prefix (ReAct steps,
uncertainty samples) reuse llama.cpp's KV cache for that prefix. No ``LlamaRAMCache``: it snapshots the
full logits with every state (tokens x vocabulary floats, about 1 GB per Gemma prompt) and outgrows
its own byte cap.
A GBNF grammar can be passed per call (``grammar=...``) so that every reply parses.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from txscout.agent.backends import Capabilities
from txscout.core.errors import LimitReached, ModelUnavailable

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "user"}


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp's C code writes load notices straight to fd 2, which would corrupt --json and TUI output."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@functools.lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class LocalChatModel(BaseChatModel):
    model_path: str
    model_name: str = "local"
    n_ctx: int = 8192
    max_tokens: int = 320
    temperature: float = 0.0
    seed: int = 0

    capabilities: ClassVar[Capabilities] = Capabilities(grammar=True, serial=True, seeded=True)
    """What ``Backend`` may ask of this model: a GBNF grammar per call (``grammar=``), a per-call ``seed``
    (sampling is deterministic per seed, so samples need distinct seeds to differ), and one reply at a
    time, since one llama.cpp context serves every call (concurrent requests would only queue)."""

    _loaded: ClassVar[dict[tuple[str, int], Any]] = {}
    _load_lock: ClassVar[threading.Lock] = threading.Lock()
    _call_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def for_path(cls, path: os.PathLike[str] | str, name: str = "local") -> LocalChatModel:
        model = cls(model_path=str(path), model_name=name)
        model.llama()
        return model

    @property
    def _llm_type(self) -> str:
        return "txscout-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def llama(self) -> Any:
        with self._load_lock:
            cached = self._loaded.get((self.model_path, self.n_ctx))
            if cached is not None:
                return cached
            from llama_cpp import Llama

            try:
                with _quiet_stderr():
                    llama = Llama(
                        model_path=self.model_path,
                        n_ctx=self.n_ctx,
                        n_threads=os.cpu_count() or 2,
                        seed=self.seed,
                        verbose=False,
                    )
            except (ValueError, RuntimeError) as exc:
                raise ModelUnavailable(f"could not load model {self.model_path}: {exc}") from exc
            self._loaded[(self.model_path, self.n_ctx)] = llama
            return llama

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = [self._convert(m) for m in messages]
        options: dict[str, Any] = {
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "stop": stop or kwargs.get("stop"),
            "seed": kwargs.get("seed", self.seed),
            "repeat_penalty": 1.15,
        }
        if kwargs.get("grammar"):
            options["grammar"] = _grammar(kwargs["grammar"])
        with self._call_lock:
            try:
                out = self.llama().create_chat_completion(messages=chat, **options)
            except ValueError as exc:
                if "context window" not in str(exc):
                    raise
                raise LimitReached(f"the model's context window ({self.n_ctx} tokens) is full") from exc
        text = out["choices"][0]["message"].get("content") or ""
        usage = out.get("usage") or {}
        message = AIMessage(
            content=text,
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    @staticmethod
    def _convert(message: BaseMessage) -> dict[str, str]:
        content = message.content if isinstance(message.content, str) else str(message.content)
        if isinstance(message, ToolMessage):
            content = f"Observation: {content}"
        role = "system" if isinstance(message, SystemMessage) else _ROLES.get(message.type, "user")
        return {"role": role, "content": content}
