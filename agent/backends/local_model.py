"""The embedded model: a GGUF file run in-process by llama-cpp-python, as a LangChain chat model.

Weights load once per process and per file. Consecutive calls that share a prompt prefix (ReAct steps,
uncertainty samples) reuse llama.cpp's KV cache for that prefix. No ``LlamaRAMCache``: it snapshots the
full logits with every state (tokens x vocabulary floats, about 1 GB per Gemma prompt) and outgrows
its own byte cap.
A GBNF grammar can be passed per call (``grammar=...``) so that every reply parses.

Replies stream token by token (``stream``); a consumer that stops iterating closes the stream, and
llama.cpp stops generating before its next token. One generation runs at a time in a process, whatever
the model: two at once would only split the same cores.

A long system prompt's state is kept on disk (``agent.backends.prompt_cache``), so a new process starts from
it instead of reading the prompt again.

Threads: decoding one token of a model this small is a short burst of small matrix products, and the
threads of one step wait for each other at every operation. With more threads than free cores (a
second txscout, a test run, a browser) those waits spin on cores the others need and decoding slows
tenfold; measured on a loaded 2-core machine, one decoding thread ran 2 to 10 times faster than two. So
decoding uses half the cores this process may run on (``os.sched_getaffinity``, not ``os.cpu_count``,
which counts cores a container or ``taskset`` withholds), and the prompt, evaluated in large batches
that do parallelise, uses all of them. Threads that wait for each other sleep (OpenMP's passive wait
policy) rather than spin. ``TXSCOUT_THREADS`` (setting ``threads``) overrides both counts.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from txscout.agent.backends.capabilities import Capabilities
from txscout.core.errors import Cancelled, LimitReached, ModelUnavailable

_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "user"}

# Threads waiting at an OpenMP barrier sleep instead of spinning on cores others need. OpenMP reads this
# once, when llama.cpp's library loads, so it is set before anything here imports llama_cpp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

GENERATION_LOCK = threading.Lock()
"""Held for the whole of every generation in this process, streamed or not."""


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the platform has one, else every core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_counts(override: int | None = None) -> tuple[int, int]:
    """(decoding threads, prompt threads) for llama.cpp; see the module docstring for why they differ."""
    if override:
        return override, override
    cores = usable_cores()
    return max(1, cores // 2), cores


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

    class _Gbnf(LlamaGrammar):
        """A grammar whose GBNF text the sampler can read (``LlamaGrammar`` keeps it private)."""

        def __init__(self, gbnf: str) -> None:
            super().__init__(_grammar=gbnf)
            self.gbnf = gbnf

    return _Gbnf(text)


class _CheckedGrammarSampler:
    """Grammar-constrained sampling that tests the grammar against the chosen token only.

    llama-cpp-python puts the grammar into the sampler chain, which tests every token of the
    vocabulary (49k for SmolLM2) against the grammar at every step: about 7 ms a token, as much as the
    model itself. llama.cpp's own sampler (``common_sampler_sample``) instead samples without the
    grammar and tests only the token chosen; when the grammar rejects it, and only then, it constrains
    the whole vocabulary and samples again. The result is the same token for greedy decoding (the best
    token overall, when allowed, is the best allowed one) and the same distribution for random
    sampling (rejection sampling renormalises over the allowed tokens), at a fraction of the cost,
    because a model following a format is rarely rejected.

    Stands in for llama-cpp-python's ``LlamaSampler``; ``Llama`` only calls ``sample``.
    """

    def __init__(self, llama: Any, chain: Any, gbnf: str) -> None:
        import numpy as np
        from llama_cpp import llama_cpp as ll

        self._ll = ll
        self._chain = chain
        self._grammar = ll.llama_sampler_init_grammar(llama._model.vocab, gbnf.encode("utf-8"), b"root")
        if not self._grammar:
            raise ValueError("the grammar does not parse")
        self._free = weakref.finalize(self, ll.llama_sampler_free, self._grammar)
        self._n_vocab = llama.n_vocab()
        self._data = (ll.llama_token_data * self._n_vocab)()
        self._rows = np.frombuffer(self._data, dtype=np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]))
        self._ids = np.arange(self._n_vocab, dtype=np.int32)
        self._all = ll.llama_token_data_array(data=self._data, size=self._n_vocab, selected=-1, sorted=False)
        self._one_data = (ll.llama_token_data * 1)()
        self._one = ll.llama_token_data_array(data=self._one_data, size=1, selected=-1, sorted=False)

    def _candidates(self, ctx: Any, idx: int) -> Any:
        import numpy as np

        logits = self._ll.llama_get_logits_ith(ctx.ctx, idx)
        self._rows["id"] = self._ids
        self._rows["logit"] = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        self._rows["p"] = 0.0
        self._all.size, self._all.selected, self._all.sorted = self._n_vocab, -1, False
        return ctypes.byref(self._all)

    def _allowed(self, token: int) -> bool:
        self._one_data[0].id, self._one_data[0].logit, self._one_data[0].p = token, 0.0, 0.0
        self._one.size, self._one.selected, self._one.sorted = 1, -1, False
        self._ll.llama_sampler_apply(self._grammar, ctypes.byref(self._one))
        return self._one_data[0].logit != float("-inf")

    def sample(self, ctx: Any, idx: int = -1) -> int:
        ll = self._ll
        ll.llama_sampler_apply(self._chain.sampler, self._candidates(ctx, idx))
        token = int(self._data[self._all.selected].id)
        if not self._allowed(token):
            candidates = self._candidates(ctx, idx)
            ll.llama_sampler_apply(self._grammar, candidates)
            ll.llama_sampler_apply(self._chain.sampler, candidates)
            token = int(self._data[self._all.selected].id)
        ll.llama_sampler_accept(self._grammar, token)
        ll.llama_sampler_accept(self._chain.sampler, token)
        return token


@functools.cache
def _llama_class() -> type:
    """llama-cpp-python's ``Llama`` with grammar checking that tests the chosen token first, and that
    reports its progress through a long prompt."""
    from llama_cpp import Llama

    class CheckedGrammarLlama(Llama):  # type: ignore[misc]
        on_prompt: Callable[[int, int], None] | None = None
        """Called with (tokens in the context, tokens it will hold) before a prompt's first batch and
        after each: set for the prompt only, as one token's evaluation per generated token is no news."""

        def eval(self, tokens: Any) -> None:
            """``Llama.eval`` one batch at a time, which is what it does itself, with a report after each."""
            report = self.on_prompt
            if report is None or len(tokens) < 2:
                return super().eval(tokens)
            total = self.n_tokens + len(tokens)
            report(self.n_tokens, total)
            for start in range(0, len(tokens), self.n_batch):
                super().eval(tokens[start : start + self.n_batch])
                report(self.n_tokens, total)
            return None

        def _init_sampler(self, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
            gbnf = getattr(grammar, "gbnf", None)
            if gbnf is None:
                return super()._init_sampler(*args, grammar=grammar, **kwargs)
            return _CheckedGrammarSampler(self, super()._init_sampler(*args, grammar=None, **kwargs), gbnf)

    return CheckedGrammarLlama


@functools.lru_cache(maxsize=8)
def _system_tokens(llama: Any, system: str) -> tuple[int, ...]:
    """The leading tokens of every prompt that opens with this system message, rendered by the model's
    chat template (from its GGUF) as llama-cpp-python renders whole chats; none when the file has no
    template.

    Templates differ in where the system message goes (ChatML gives it a turn of its own, Gemma's puts
    it at the head of the first user turn), so the prefix is read off two chats that differ only in
    their user message: the tokens both share, less the last one, which may merge with the text that
    follows it.
    """
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return ()

    def text(token: int) -> str:
        return llama.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=text(llama.token_eos()),
        bos_token=text(llama.token_bos()),
        add_generation_prompt=False,
    )

    def tokens(user: str) -> list[int]:
        chat = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return llama.tokenize(formatter(messages=chat).prompt.encode("utf-8"), add_bos=False, special=True)

    first, second = tokens("A"), tokens("9?")
    shared = next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), len(first))
    return tuple(first[: max(0, shared - 1)])


@contextlib.contextmanager
def _reporting_prompt(llama: Any, on_prompt: Callable[[int, int], None] | None) -> Iterator[Callable[[], None]]:
    """Report progress through the prompt to ``on_prompt``; yields the switch that ends the reports
    (once the first token is out). Called with the generation lock held, so no other call's prompt
    reports here."""
    llama.on_prompt = on_prompt

    def stop_reporting() -> None:
        llama.on_prompt = None

    try:
        yield stop_reporting
    finally:
        stop_reporting()


@contextlib.contextmanager
def _abortable_prompt(llama: Any, cancel: threading.Event | None) -> Iterator[Callable[[], None]]:
    """Let ``cancel`` stop llama.cpp while it reads the prompt; yields the switch that ends this.

    Reading a long prompt takes seconds on a small CPU and yields no token in between, so the stream's
    consumer has nothing to check the cancel flag at. llama.cpp's abort callback is asked between the
    operations of each batch and stops ``llama_decode``. It is a call into Python for every operation,
    too costly while tokens are being written (about 10%), so it is switched off once the first token
    is out: from there the consumer checks the flag between tokens and closes the stream.
    """
    if cancel is None:
        yield lambda: None
        return
    from llama_cpp import llama_cpp as ll

    context = llama._ctx.ctx
    callback = ll.ggml_abort_callback(lambda _data: cancel.is_set())

    def stop_asking() -> None:
        ll.llama_set_abort_callback(context, ll.ggml_abort_callback(), None)

    ll.llama_set_abort_callback(context, callback, None)
    try:
        yield stop_asking
    finally:
        stop_asking()


class LocalChatModel(BaseChatModel):
    model_path: str
    model_name: str = "local"
    n_ctx: int = 8192
    max_tokens: int = 320
    temperature: float = 0.0
    seed: int = 0
    threads: int | None = None
    """llama.cpp threads for decoding and for the prompt; None chooses from the usable cores."""
    prompt_cache_dir: str | None = None
    """Folder of saved system-prompt states (``agent.backends.prompt_cache``); None reads every prompt afresh."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        grammar=True,
        serial=True,
        seeded=True,
        cancellable=True,
        prompt_state=True,
        prompt_progress=True,
        picks_tools=False,
    )
    """What ``Backend`` may ask of this model: a GBNF grammar per call (``grammar=``), a per-call ``seed``
    (sampling is deterministic per seed, so samples need distinct seeds to differ), one reply at a
    time, since one llama.cpp context serves every call (concurrent requests would only queue), a
    ``cancel`` event that stops a streamed reply even while its prompt is being read, an ``on_prompt``
    callback told of the progress through a streamed reply's prompt, and :meth:`prepare`, which reads a
    system prompt ahead. The models it runs are tiny: they are offered no tools of their own choosing
    (``picks_tools``) and answer from what the agent's plan gathered."""

    _loaded: ClassVar[dict[tuple[str, int, tuple[int, int]], Any]] = {}
    _load_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_path(
        cls,
        path: os.PathLike[str] | str,
        name: str = "local",
        threads: int | None = None,
        prompt_cache_dir: os.PathLike[str] | str | None = None,
    ) -> LocalChatModel:
        cache = str(prompt_cache_dir) if prompt_cache_dir is not None else None
        model = cls(model_path=str(path), model_name=name, threads=threads, prompt_cache_dir=cache)
        model.llama()
        return model

    @property
    def _llm_type(self) -> str:
        return "txscout-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def llama(self) -> Any:
        threads = thread_counts(self.threads)
        key = (self.model_path, self.n_ctx, threads)
        with self._load_lock:
            cached = self._loaded.get(key)
            if cached is not None:
                return cached
            try:
                with _quiet_stderr():
                    llama = _llama_class()(
                        model_path=self.model_path,
                        n_ctx=self.n_ctx,
                        n_threads=threads[0],
                        n_threads_batch=threads[1],
                        seed=self.seed,
                        verbose=False,
                    )
            except (ValueError, RuntimeError) as exc:
                raise ModelUnavailable(f"could not load model {self.model_path}: {exc}") from exc
            # llama.cpp logs errors, such as a cancelled decode, straight to stderr, which would corrupt
            # --json and TUI output; its failures reach us as exceptions, so its log is not needed.
            logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
            self._loaded[key] = llama
            return llama

    def _options(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "stop": stop or kwargs.get("stop"),
            "seed": kwargs.get("seed", self.seed),
            "repeat_penalty": 1.15,
        }
        if kwargs.get("grammar"):
            options["grammar"] = _grammar(kwargs["grammar"])
        return options

    def prepare(self, system: str, on_prompt: Callable[[int, int], None] | None = None) -> str | None:
        """Read ``system`` into the context now (or restore its saved state), so that the next prompt
        opening with it, in this process or, through the prompt cache, a new one, starts after it.
        ``on_prompt`` hears the progress when it is read. Returns why the state could not be saved, if
        it could not."""
        llama = self.llama()
        with GENERATION_LOCK, _reporting_prompt(llama, on_prompt):
            return self._prime(llama, [{"role": "system", "content": system}], ahead=True)

    def _prime(self, llama: Any, chat: list[dict[str, str]], ahead: bool = False) -> str | None:
        """Start from the saved state of a long system prompt when the context does not hold it; ahead of
        a question (``prepare``) also without a prompt cache, reading it into the context alone. Returns
        the prompt cache's problem, if saving failed."""
        if (self.prompt_cache_dir is None and not ahead) or not chat or chat[0]["role"] != "system":
            return None
        from txscout.agent.backends.prompt_cache import PromptCache

        tokens = _system_tokens(llama, chat[0]["content"])
        if not tokens:
            return None
        cache = PromptCache(Path(self.prompt_cache_dir) if self.prompt_cache_dir is not None else None, self.model_path)
        cache.prime(llama, tokens, seed=self.seed, ensure_saved=ahead)
        return cache.problem

    def _context_full(self, exc: ValueError) -> LimitReached:
        if "context window" not in str(exc):
            raise exc
        return LimitReached(f"the model's context window ({self.n_ctx} tokens) is full")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = [self._convert(m) for m in messages]
        options = self._options(stop, kwargs)
        with GENERATION_LOCK:
            try:
                self._prime(self.llama(), chat)
                out = self.llama().create_chat_completion(messages=chat, **options)
            except ValueError as exc:
                raise self._context_full(exc) from exc
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

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Text chunks as llama.cpp samples them, then one empty chunk carrying the usage; while the
        prompt is read, ``on_prompt`` (a keyword argument) hears how far it got.

        llama-cpp-python reports no usage when streaming, so it is read from the context: when the
        first token is sampled the context holds exactly the prompt, and every later token is
        evaluated into it except the last one sampled. Closing this generator closes llama.cpp's,
        which then samples nothing more.
        """
        chat = [self._convert(m) for m in messages]
        options = self._options(stop, kwargs)
        cancel: threading.Event | None = kwargs.get("cancel")
        llama = self.llama()
        with (
            GENERATION_LOCK,
            _abortable_prompt(llama, cancel) as stop_aborting,
            _reporting_prompt(llama, kwargs.get("on_prompt")) as stop_reporting,
        ):
            try:
                self._prime(llama, chat)
            except RuntimeError as exc:  # llama_decode stopped by the abort callback
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled by the user") from exc
                raise
            parts = llama.create_chat_completion(messages=chat, stream=True, **options)
            prompt_tokens: int | None = None
            finish = None
            try:
                while True:
                    try:
                        part = next(parts)
                    except StopIteration:
                        break
                    except ValueError as exc:
                        raise self._context_full(exc) from exc
                    except RuntimeError as exc:  # llama_decode stopped by the abort callback
                        if cancel is not None and cancel.is_set():
                            raise Cancelled("cancelled by the user") from exc
                        raise
                    if prompt_tokens is None:
                        prompt_tokens = llama.n_tokens
                        stop_aborting()
                        stop_reporting()
                    choice = part["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    text = choice.get("delta", {}).get("content") or ""
                    if text:
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                        if run_manager is not None:
                            run_manager.on_llm_new_token(text, chunk=chunk)
                        yield chunk
            finally:
                parts.close()
            prompt = prompt_tokens or 0
            generated = max(0, llama.n_tokens - prompt) + (1 if finish == "length" else 0)
        usage = {"input_tokens": prompt, "output_tokens": generated, "total_tokens": prompt + generated}
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))  # type: ignore[arg-type]

    @staticmethod
    def _convert(message: BaseMessage) -> dict[str, str]:
        content = message.content if isinstance(message.content, str) else str(message.content)
        if isinstance(message, ToolMessage):
            content = f"Observation: {content}"
        role = "system" if isinstance(message, SystemMessage) else _ROLES.get(message.type, "user")
        return {"role": role, "content": content}
