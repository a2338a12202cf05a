"""Test isolation: no test reads the developer's config or writes to their data and cache folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from txscout.core.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def isolate(patch: pytest.MonkeyPatch, home: Path, shared: Path) -> None:
    """Point every txscout folder and the config file into ``home`` (the prompt and tool caches into
    ``shared``) and drop every other txscout and API-key variable."""
    (home / "config.toml").touch()  # a named config file must exist; an empty one sets nothing
    patch.setenv("TXSCOUT_CONFIG", str(home / "config.toml"))
    patch.setenv("TXSCOUT_DATA_DIR", str(home / "data"))
    patch.setenv("TXSCOUT_CACHE_DIR", str(home / "cache"))
    # Shared by the session: saved prompt states only save time, and each test saving its own would cost it.
    patch.setenv("TXSCOUT_PROMPT_CACHE_DIR", str(shared / "prompts"))
    # Likewise the embeddings of tool descriptions (a 2,000-tool server is embedded once per session).
    patch.setenv("TXSCOUT_TOOL_CACHE_DIR", str(shared / "tools"))
    kept = ("TXSCOUT_CONFIG", "TXSCOUT_DATA_DIR", "TXSCOUT_CACHE_DIR", "TXSCOUT_PROMPT_CACHE_DIR")
    kept += ("TXSCOUT_TOOL_CACHE_DIR",)
    for name in list(os.environ):
        if name.startswith("TXSCOUT_") and name not in kept:
            patch.delenv(name)
    patch.delenv("OPENAI_API_KEY", raising=False)
    patch.delenv("NCBI_API_KEY", raising=False)


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("txscout-home")
    isolate(monkeypatch, home, tmp_path_factory.getbasetemp())
    yield home


@pytest.fixture(scope="module")
def offline_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Offline settings read once per module, as isolated as each test's: for suites that build an agent
    per test, where reading settings from the environment costs more than the run itself."""
    from txscout.core.settings import Settings

    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("txscout-home")
        isolate(patch, home, tmp_path_factory.getbasetemp())
        return Settings(offline=True)


@pytest.fixture(scope="session")
def embedder() -> object:
    """The offline MiniLM embedder, loaded once for every memory test."""
    from txscout.memory.embeddings import get_embedder

    return get_embedder()


@pytest.fixture
def memory_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: object) -> Path:
    """A private evidence store and cache for a memory CLI test; the path of the store."""
    path = tmp_path / "memory"
    monkeypatch.setenv("TXSCOUT_MEMORY_PATH", str(path))
    monkeypatch.setenv("TXSCOUT_CACHE_DIR", str(tmp_path / "cache"))
    return path


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """llama-cpp-python's OpenAI-compatible server with SmolLM2 (a chat format with function calling),
    started once for every endpoint test and stopped at the end of the session."""
    from tests.real_servers import start_llama_server

    server = start_llama_server(tmp_path_factory.mktemp("llama"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real ``chroma run`` server on 127.0.0.1, shared by the shared-store tests."""
    from tests.real_servers import start_chroma_server

    server = start_chroma_server(tmp_path_factory.mktemp("chroma"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def many_tools_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """An MCP server with 2,000 tools (``tests/many_tools_server.py``) on 127.0.0.1, started once."""
    import sys

    from tests.real_servers import Process, free_port

    port = free_port()
    script = Path(__file__).with_name("many_tools_server.py")
    log = tmp_path_factory.mktemp("mcp") / f"many-tools-{port}.log"
    server = Process([sys.executable, str(script), str(port)], port=port, ready_path="/health", log=log)
    yield server
    server.stop()
