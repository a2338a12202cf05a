"""Effective settings: command-line flags over environment variables over the config file over defaults.

The config file is ``$XDG_CONFIG_HOME/txscout/config.toml`` (``~/.config/txscout/config.toml``), or the
path in ``TXSCOUT_CONFIG``. Environment variables are ``TXSCOUT_<FIELD>`` plus the conventional
``OPENAI_API_KEY`` and ``NCBI_API_KEY``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_cache_dir, user_config_dir, user_data_dir
from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from txscout.core.errors import UserError

Mode = Literal["bare", "react", "full"]


def config_path() -> Path:
    override = os.environ.get("TXSCOUT_CONFIG")
    return Path(override) if override else Path(user_config_dir("txscout")) / "config.toml"


def data_dir() -> Path:
    return Path(os.environ.get("TXSCOUT_DATA_DIR") or user_data_dir("txscout"))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the config file; a malformed file is a user error, never a silent fallback to defaults."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads the whole file at once

    def __call__(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"config file {self.path} is not valid TOML: {exc}") from exc
        unknown = sorted(set(data) - set(self.settings_cls.model_fields))
        if unknown:
            raise UserError(f"config file {self.path} has unknown keys: {', '.join(unknown)}")
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TXSCOUT_", populate_by_name=True, extra="forbid")

    model: str = "local"
    base_url: str | None = None
    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "TXSCOUT_API_KEY", "OPENAI_API_KEY")
    )
    mode: Mode = "full"
    temperature: float = 0.0
    max_steps: int = Field(default=6, ge=1)
    max_tool_calls: int = Field(default=10, ge=0)
    time_limit_s: float = Field(default=600.0, gt=0)
    token_limit: int = Field(default=60_000, ge=1)
    tool_timeout_s: float = Field(default=60.0, gt=0)
    offline: bool = False

    samples: int = Field(default=5, ge=1)
    sample_temperature: float = Field(default=0.8, ge=0)
    entropy_threshold: float = Field(default=0.9, ge=0)
    search_rounds: int = Field(default=2, ge=0)
    critique_rounds: int = Field(default=1, ge=0)

    ncbi_email: str = "txscout@users.noreply.github.com"
    ncbi_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ncbi_api_key", "TXSCOUT_NCBI_API_KEY", "NCBI_API_KEY")
    )
    ncbi_base_url: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    pubchem_base_url: str = "https://pubchem.ncbi.nlm.nih.gov/rest/pug"
    web_backend: Literal["ddgs", "searxng"] = "ddgs"
    searxng_url: str | None = None
    allow_loopback: bool = False
    http_cache: Literal["off", "read-write", "replay-only"] = "read-write"
    cache_dir: Path = Field(default_factory=lambda: Path(user_cache_dir("txscout")) / "http")
    memory_path: Path = Field(default_factory=lambda: data_dir() / "memory")
    memory_url: str | None = None
    predictor_url: str | None = None
    predictor_model: str | None = None

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

    def masked(self) -> dict[str, Any]:
        """Settings for display: secrets show only that they are set."""
        out: dict[str, Any] = {}
        for name, value in self:
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else None
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        return out


def load_settings(**overrides: Any) -> Settings:
    """Settings with flag values layered on top; ``None`` means the flag was not given."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise UserError(f"invalid setting {where}: {first['msg']}") from exc
