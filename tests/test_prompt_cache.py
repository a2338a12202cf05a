"""The prompt cache: the embedded model's state after a long system prompt, saved by one process and
restored by the next instead of reading the prompt again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from typer.testing import CliRunner

from txscout.agent import protocol
from txscout.agent.backends.local_model import LocalChatModel, _system_tokens
from txscout.agent.backends.models import local_model_path
from txscout.agent.backends.prompt_cache import KEEP_FILES, MIN_TOKENS, PromptCache
from txscout.cli import app
from txscout.core.settings import load_settings
from txscout.tools.chemistry import chemistry_tools

PATH = str(local_model_path("smollm2"))
TOOLS = [
    t for t in chemistry_tools(load_settings(offline=True)) if t.name in ("identify_molecule", "compare_molecules")
]
SYSTEM = protocol.text_system_prompt(TOOLS)
QUESTION = HumanMessage("Question: What is the logP of caffeine?")


def model(folder: Path | None) -> LocalChatModel:
    """The embedded model (one llama.cpp context per process, shared) with or without a prompt cache."""
    return LocalChatModel(model_path=PATH, n_ctx=4096, prompt_cache_dir=str(folder) if folder else None)


@pytest.fixture(scope="module")
def tokens() -> tuple[int, ...]:
    found = _system_tokens(model(None).llama(), SYSTEM)
    assert len(found) >= MIN_TOKENS, "the test prompt must be long enough to be cached"
    return found


def test_a_restored_state_answers_exactly_as_the_prompt_read_afresh(tmp_path: Path, tokens: tuple[int, ...]) -> None:
    cached = model(tmp_path)
    llama = cached.llama()
    cache = PromptCache(tmp_path, PATH)
    llama.reset()
    assert cache.prime(llama, tokens, seed=0) == "saved"
    assert cache.prime(llama, tokens, seed=0) == "kept", "a context holding the prefix is left as it is"
    read = cached.invoke([SystemMessage(SYSTEM), QUESTION], max_tokens=24).content

    llama.reset()  # an empty context, as in a new process
    assert cache.prime(llama, tokens, seed=0) == "restored"
    assert llama.n_tokens == len(tokens) and llama.input_ids[: len(tokens)].tolist() == list(tokens)
    assert cached.invoke([SystemMessage(SYSTEM), QUESTION], max_tokens=24).content == read

    llama.reset()
    assert model(None).invoke([SystemMessage(SYSTEM), QUESTION], max_tokens=24).content == read, "read afresh"


def test_generation_restores_the_saved_state_itself(tmp_path: Path, tokens: tuple[int, ...]) -> None:
    """No caller primes anything: a prompt opening with a saved system turn starts from its state."""
    cached = model(tmp_path)
    cached.llama().reset()
    cached.prepare(SYSTEM)
    (saved,) = tmp_path.glob("*.npz")
    assert oct(saved.stat().st_mode & 0o777) == "0o600", "the state holds the prompt: private like every cache file"
    before, inode = saved.stat().st_mtime_ns, saved.stat().st_ino
    os.utime(saved, ns=(before - 10**9, before - 10**9))
    cached.llama().reset()
    cached.invoke([SystemMessage(SYSTEM), QUESTION], max_tokens=4)
    assert saved.stat().st_mtime_ns > before - 10**9, "restoring marks the state recently used"
    assert saved.stat().st_ino == inode, "restored, not read again and saved anew (a new file)"


def test_an_unreadable_or_foreign_state_is_replaced_by_reading_the_prompt(
    tmp_path: Path, tokens: tuple[int, ...]
) -> None:
    llama = model(tmp_path).llama()
    cache = PromptCache(tmp_path, PATH)
    path = cache.path_for(llama, tokens)
    path.write_bytes(b"not a state")
    llama.reset()
    assert cache.prime(llama, tokens, seed=0) == "saved"
    with np.load(path) as saved:
        assert saved["tokens"].tolist() == list(tokens)

    shorter = tokens[:-1]  # another prompt whose file name the state of this one has taken
    shutil.copy(path, cache.path_for(llama, shorter))
    llama.reset()
    assert cache.prime(llama, shorter, seed=0) == "saved", "stored tokens that differ are never restored"
    assert llama.input_ids[: len(shorter)].tolist() == list(shorter)


def test_only_the_most_recently_used_states_are_kept(tmp_path: Path, tokens: tuple[int, ...]) -> None:
    old = []
    for i in range(KEEP_FILES + 1):
        stale = tmp_path / f"stale{i}.npz"
        stale.write_bytes(b"")
        os.utime(stale, (1_000_000 + i, 1_000_000 + i))
        old.append(stale)
    llama = model(tmp_path).llama()
    llama.reset()
    PromptCache(tmp_path, PATH).prime(llama, tokens, seed=0)
    kept = sorted(p.name for p in tmp_path.glob("*.npz"))
    assert len(kept) == KEEP_FILES
    assert PromptCache(tmp_path, PATH).path_for(llama, tokens).name in kept
    assert {p.name for p in old[-(KEEP_FILES - 1) :]} <= set(kept)


def test_short_system_prompts_are_not_cached(tmp_path: Path) -> None:
    llama = model(tmp_path).llama()
    assert PromptCache(tmp_path, PATH).prime(llama, [1, 2, 3], seed=0) == "skipped"
    assert not list(tmp_path.iterdir())


def choosing(settings: object) -> object:
    """The embedded model declared as one that picks tools, so its runs open with the tools' prompt."""
    from txscout.agent.backends.capabilities import Backend

    local = LocalChatModel(model_path=PATH, n_ctx=4096, prompt_cache_dir=str(settings.prompt_cache_dir))  # type: ignore[attr-defined]
    return Backend(local, LocalChatModel.capabilities.model_copy(update={"picks_tools": True}))


def test_warm_leaves_the_react_prompt_saved_for_the_next_process() -> None:
    """In the session's prompt folder, where an earlier test may have saved it already: then it is restored."""
    from txscout.agent.api import Agent

    settings = load_settings()
    agent = Agent(model=choosing(settings), settings=settings, store=False)  # type: ignore[arg-type]
    assert agent.warm() is True
    llama = agent.model.llama()
    offered, _ = agent.chooser.usable(agent.tools, offline=settings.offline)  # what every run is shown
    react = protocol.text_system_prompt(offered)
    assert PromptCache(settings.prompt_cache_dir, PATH).path_for(llama, _system_tokens(llama, react)).exists()


def test_warm_that_cannot_save_says_where_and_how_to_fix_it(tmp_path: Path) -> None:
    from txscout.agent.api import Agent
    from txscout.core.errors import UserError

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = load_settings(prompt_cache_dir=blocker / "prompts")
    agent = Agent(model=choosing(settings), settings=settings, store=False)  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"cannot save the prompt state in .*set prompt_cache_dir"):
        agent.warm()


def test_warm_command_has_nothing_to_prepare_for_the_embedded_model() -> None:
    """It is offered no tools, so its runs open with the short tool-free prompt: nothing worth saving."""
    result = CliRunner().invoke(app, ["warm"])
    assert result.exit_code == 0, result.output
    assert "nothing to prepare" in result.output


def test_warm_is_a_no_op_for_models_without_prompt_state() -> None:
    from tests.scripted import script
    from txscout.agent.api import Agent

    model = script()
    assert Agent(model=model, store=False).warm() is False
    assert not model.prompts
