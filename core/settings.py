"""Effective settings: command-line flags over environment variables over the config file over defaults.

The config file is ``$XDG_CONFIG_HOME/txscout/config.toml`` (``~/.config/txscout/config.toml``), or the
path in ``TXSCOUT_CONFIG``. Environment variables are ``TXSCOUT_<FIELD>`` plus the conventional
``OPENAI_API_KEY`` and ``NCBI_API_KEY``.

Fields are grouped by concern, one pydantic model per group (its docstring says what the group is
for, each field's ``description`` what the field does), and :class:`Settings` inherits them all, so
attribute access (``settings.max_steps``), environment variables (``TXSCOUT_MAX_STEPS``) and config
keys (``max_steps = 8``) stay flat. :data:`GROUPS` and :func:`group_of` say where a field belongs;
:func:`explain_settings` says what each effective value is and where it came from.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from platformdirs import user_cache_dir, user_config_dir, user_data_dir
from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from txscout.core.errors import UserError, validation_problems
from txscout.core.files import read_regular
from txscout.core.secrets import mask_value

Mode = Literal["bare", "react", "full"]
ToolProtocol = Literal["auto", "native", "text"]
MODES: tuple[Mode, ...] = get_args(Mode)
Source = Literal["flag", "env", "file", "default"]

ENV_PREFIX = "TXSCOUT_"
PATH_VARIABLES = ("TXSCOUT_CONFIG", "TXSCOUT_DATA_DIR")
CONFIG_LIMIT = 1_000_000
"""Bytes a config file may have: a settings file is a few hundred; more means the wrong file."""
"""Environment variables that locate files rather than set a field."""


def config_path() -> Path:
    """The config file: ``TXSCOUT_CONFIG`` when set (it must then exist), else the per-user default."""
    override = os.environ.get("TXSCOUT_CONFIG")
    return Path(override) if override else Path(user_config_dir("txscout")) / "config.toml"


def _config_named() -> bool:
    """Whether the user named the config file; the default location may be absent, a named file may not."""
    return bool(os.environ.get("TXSCOUT_CONFIG"))


def data_dir() -> Path:
    return Path(os.environ.get("TXSCOUT_DATA_DIR") or user_data_dir("txscout"))


def read_config_file(path: Path, fields: set[str], *, must_exist: bool) -> dict[str, Any]:
    """The config file's keys; every way it can be unusable is a one-line user error, never a silent
    fallback to defaults."""
    if not path.exists():
        if must_exist:
            raise UserError(f"TXSCOUT_CONFIG names a file that does not exist: {path}")
        return {}
    if path.is_dir():
        raise UserError(f"config file {path} is a directory, not a TOML file")
    raw = read_regular(path, "config file", limit=CONFIG_LIMIT)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"config file {path} is not text (byte {exc.start} is not UTF-8)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config file {path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - fields)
    if unknown:
        raise UserError(f"config file {path} has unknown keys: {', '.join(unknown)}")
    return data


class _TomlSource(PydanticBaseSettingsSource):
    """The config file as a pydantic-settings source, below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        return read_config_file(self.path, set(self.settings_cls.model_fields), must_exist=_config_named())


class ModelSettings(BaseModel):
    """The chat model that answers: which one, where it is served, how it samples and how hard it works."""

    model: str = Field(
        default="local",
        description="Model spec: local (the embedded SmolLM2), local:NAME, local:/path/to/model.gguf, "
        "openai:MODEL for an OpenAI-compatible endpoint, or a LangChain provider:model (ollama:qwen2.5:7b).",
    )
    base_url: str | None = Field(
        default=None, description="Base URL of the OpenAI-compatible endpoint for openai:MODEL (default: OpenAI's)."
    )
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("api_key", "TXSCOUT_API_KEY", "OPENAI_API_KEY"),
        description="API key for the model endpoint and the TDC predictor (also read from OPENAI_API_KEY).",
    )
    request_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds an endpoint model (openai:MODEL) may keep a request waiting, connecting or between "
        "bytes of its reply, before the attempt fails; each retry waits as long again.",
    )
    request_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of an endpoint model request after a timeout, a lost connection, HTTP 429 or 5xx, "
        "with exponential backoff (0.5 s doubling up to 8 s, or the server's Retry-After); then the run fails.",
    )
    endpoint_grammar: bool = Field(
        default=False,
        description="The endpoint takes GBNF grammars (llama.cpp's llama-server, llama-cpp-python's server): "
        "replies are then constrained as the embedded model's are, which small models need.",
    )
    tool_protocol: ToolProtocol = Field(
        default="auto",
        description="How the model calls tools: native (its own tool-calling API), text (Thought/Action lines, "
        "for any chat model) or auto (native where the model has it, unless it takes grammars: then text).",
    )
    max_reply_tokens: int | None = Field(
        default=None, ge=1, description="Most tokens one reply of an endpoint model may have (default: the server's)."
    )
    mode: Mode = Field(
        default="full",
        description="bare: the model alone; react: reasoning with tool calls; full: react plus "
        "uncertainty-guided re-search and self-critique.",
    )
    temperature: float = Field(default=0.0, description="Sampling temperature of the answering model.")
    threads: int | None = Field(
        default=None,
        ge=1,
        description="CPU threads of the embedded model (default: half the cores this process may use for "
        "writing, all of them for reading the prompt).",
    )


class BudgetSettings(BaseModel):
    """Loop budgets: how far one run may go before it stops and answers with what it has."""

    max_steps: int = Field(default=6, ge=1, description="Most reasoning steps (model turns) in the ReAct loop.")
    max_tool_calls: int = Field(default=10, ge=0, description="Most tool calls in one run.")
    time_limit_s: float = Field(default=600.0, gt=0, description="Wall-clock seconds one run may take.")
    token_limit: int = Field(default=60_000, ge=1, description="Input plus output tokens one run may spend.")
    tool_timeout_s: float = Field(
        default=60.0, gt=0, description="Seconds one tool call may take before it is reported as timed out."
    )
    max_offered_tools: int = Field(
        default=16,
        ge=1,
        description="Most tools shown to the model in one run. When more can work (an MCP server with thousands), "
        "the ones most relevant to the question are offered, ranked by embedding their names and descriptions, "
        "plus those grounding used.",
    )


class UncertaintySettings(BaseModel):
    """Uncertainty and self-critique (full mode): when the answer is sampled again, searched further and revised."""

    samples: int = Field(
        default=5, ge=1, description="Answers sampled to measure how much the model agrees with itself."
    )
    sample_temperature: float = Field(default=0.8, ge=0, description="Temperature of those samples.")
    entropy_threshold: float = Field(
        default=0.9, ge=0, description="Entropy (bits) of the sampled answers above which the run searches again."
    )
    search_rounds: int = Field(default=2, ge=0, description="Most re-search rounds when the samples disagree.")
    critique_rounds: int = Field(default=1, ge=0, description="Most critique-and-revise rounds on the draft answer.")


class EvidenceSettings(BaseModel):
    """Evidence first (react and full): what every question reads in the evidence store, and PubMed when
    online, before the model's first step; the passages kept are shown to the model, which must cite them."""

    evidence_k: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Most passages of the evidence store shown to the model before its first step, best first "
        "by hybrid (meaning and exact terms) rank; 0 turns the evidence-first search off.",
    )
    evidence_floor: float = Field(
        default=0.55,
        ge=-1.0,
        le=1.0,
        description="Relevance floor: the least cosine similarity of question and passage for a passage to be "
        "shown. When none reaches it, the answer says the sources do not answer the question and what was "
        "searched, and gives the model's own answer marked as unsupported.",
    )


class NetworkSettings(BaseModel):
    """Network: whether tools may go online, and the services and tool servers they reach."""

    offline: bool = Field(
        default=False,
        description="Network tools refuse to go online and answer only from recordings and local data "
        "(the TUI's F6 switches it for the next question).",
    )
    ncbi_email: str = Field(
        default="txscout@users.noreply.github.com", description="Contact address NCBI asks E-utilities callers for."
    )
    ncbi_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ncbi_api_key", "TXSCOUT_NCBI_API_KEY", "NCBI_API_KEY"),
        description="NCBI API key: 10 instead of 3 PubMed requests a second (also read from NCBI_API_KEY).",
    )
    ncbi_base_url: str = Field(
        default="https://eutils.ncbi.nlm.nih.gov/entrez/eutils", description="NCBI E-utilities endpoint (PubMed)."
    )
    pubchem_base_url: str = Field(
        default="https://pubchem.ncbi.nlm.nih.gov/rest/pug",
        description="PubChem PUG-REST endpoint, for names not in the offline drug table.",
    )
    web_backend: Literal["ddgs", "searxng"] = Field(
        default="ddgs", description="Web search through the ddgs metasearch library, or a SearxNG instance."
    )
    searxng_url: str | None = Field(default=None, description="URL of the SearxNG instance (web_backend = searxng).")
    allow_loopback: bool = Field(
        default=False,
        description="Let read_url and memory add read loopback URLs (127.0.0.0/8, ::1, localhost), for a local "
        "mirror; a page elsewhere still may not redirect there, and private or link-local addresses stay refused.",
    )
    predictor_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint of a TxGemma-style model for predict_tdc."
    )
    predictor_model: str | None = Field(default=None, description="Model name to ask at predictor_url.")
    mcp_config: Path | None = Field(
        default=None,
        description='An MCP client config file ({"mcpServers": {...}}, as Claude Desktop uses) whose servers\' '
        "tools the agent may call besides its own.",
    )


class StorageSettings(BaseModel):
    """Storage: the HTTP recording cache, the embedded model's prompt cache and the evidence store."""

    http_cache: Literal["off", "read-write", "replay-only"] = Field(
        default="read-write",
        description="Recording cache of HTTP answers: read-write records and replays, replay-only never goes "
        "online, off neither reads nor writes.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("txscout")) / "http",
        description="Folder of the HTTP recording cache.",
    )
    prompt_cache: bool = Field(
        default=True,
        description="Keep the embedded model's state after each long system prompt on disk, so a new process "
        "starts from it instead of reading the prompt again (about 8 s of a cold first answer on 2 cores).",
    )
    prompt_cache_dir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("txscout")) / "prompts",
        description="Folder of the saved prompt states (tens of MB each; the 4 most recently used are kept).",
    )
    tool_cache_dir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("txscout")) / "tools",
        description="Folder of the cached embeddings of tool descriptions (by description hash), so a server's "
        "thousands of tools are embedded once, not per run.",
    )
    memory_path: Path = Field(
        default_factory=lambda: data_dir() / "memory",
        description="Folder of the evidence store (chromadb), under TXSCOUT_DATA_DIR by default.",
    )
    memory_url: str | None = Field(
        default=None, description="URL of a shared chroma server to use as the evidence store instead of memory_path."
    )
    pdf_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Seconds one PDF may take to parse before it is reported as failed and the rest go on "
        "(a 2,000-page book takes well under a minute).",
    )


class BenchSettings(BaseModel):
    """Benchmarks: the defaults of ``txscout bench`` runs (each one also a flag there)."""

    judge: str | None = Field(
        default=None, description="Model spec that grades judge-graded suites (HLE, oncology vignettes)."
    )
    bench_concurrency: int = Field(
        default=1, ge=1, description="Items in flight at once (threads; per worker with --ray)."
    )
    ray_workers: int = Field(
        default=2, ge=1, description="Ray workers a --ray run starts, each loading its model once."
    )


GROUPS: dict[str, type[BaseModel]] = {
    "model": ModelSettings,
    "loop budgets": BudgetSettings,
    "uncertainty": UncertaintySettings,
    "evidence": EvidenceSettings,
    "network": NetworkSettings,
    "storage": StorageSettings,
    "benchmarks": BenchSettings,
}
"""Every settings group by its display name; each field belongs to exactly one."""


def group_of(field: str) -> str:
    """The name of the group a field belongs to."""
    for name, group in GROUPS.items():
        if field in group.model_fields:
            return name
    raise KeyError(field)


class Settings(
    BenchSettings,
    StorageSettings,
    NetworkSettings,
    EvidenceSettings,
    UncertaintySettings,
    BudgetSettings,
    ModelSettings,
    BaseSettings,
):
    """Every setting, flat: see the groups it inherits for what each one does.

    The groups are listed last first because pydantic collects fields from the last base first; this
    way ``model_fields`` (and :meth:`masked`) read in the order of :data:`GROUPS`.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, populate_by_name=True, extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlSource(settings_cls, config_path())

    @field_validator("base_url", "ncbi_base_url", "pubchem_base_url", "searxng_url", "predictor_url", "memory_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """An endpoint must be an http(s) URL with a host: a malformed one (``http://[::1``) is a setting
        error now, not a traceback from the HTTP library on the first request."""
        if value is None:
            return value
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  # parsing the port is what raises on a bad one
        except ValueError as exc:
            raise ValueError(f"not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/v1")
        return value

    def masked(self) -> dict[str, Any]:
        """Settings for display, in JSON types: secrets and credentials in URLs show only that they are set."""
        return {name: mask_value(name, value) for name, value in self}


class SettingInfo(BaseModel):
    """One effective setting as ``txscout config show`` reports it."""

    key: str
    value: Any = Field(description="the effective value, with secrets masked")
    source: Source
    description: str


class GroupInfo(BaseModel):
    name: str
    description: str
    settings: list[SettingInfo]


def known_env_variables() -> set[str]:
    """Every ``TXSCOUT_*`` name that means something (upper-case; the environment is read case-insensitively)."""
    return {*PATH_VARIABLES, *(ENV_PREFIX + name.upper() for name in Settings.model_fields)}


_warned: set[str] = set()


def _warn_unknown_env() -> None:
    """One stderr line naming ``TXSCOUT_*`` variables that set nothing (a typo silently ignored would
    leave the user believing a budget or endpoint is in force). Each name is reported once per process."""
    known = known_env_variables()
    unknown = sorted(name for name in os.environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in known)
    fresh = [name for name in unknown if name not in _warned]
    if fresh:
        _warned.update(fresh)
        shown = ", ".join(ascii(name)[1:-1] for name in fresh)
        sys.stderr.write(f"warning: unknown environment variable ignored: {shown} (see txscout config show)\n")


def load_settings(**overrides: Any) -> Settings:
    """Settings with flag values layered on top; ``None`` means the flag was not given."""
    _warn_unknown_env()
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise UserError(f"invalid setting {validation_problems(exc, 'settings')}") from exc


def explain_settings(**overrides: Any) -> list[GroupInfo]:
    """The effective settings by group: each value (secrets masked), where it came from and what it does."""
    settings = load_settings(**overrides)
    flags = {k for k, v in overrides.items() if v is not None}
    env = set(EnvSettingsSource(Settings)())
    file = set(read_config_file(config_path(), set(Settings.model_fields), must_exist=_config_named()))
    shown = settings.masked()

    def source(key: str) -> Source:
        if key in flags:
            return "flag"
        if key in env:
            return "env"
        return "file" if key in file else "default"

    return [
        GroupInfo(
            name=name,
            description=" ".join((group.__doc__ or "").split()),
            settings=[
                SettingInfo(key=key, value=shown[key], source=source(key), description=field.description or "")
                for key, field in group.model_fields.items()
            ],
        )
        for name, group in GROUPS.items()
    ]
