"""The embedded model's long system prompts, read once per machine instead of once per process.

A cold process spends most of its first answer reading the system prompt: the text protocol's, with
the tool list and examples, is about 2,000 tokens, and SmolLM2 reads them in 8.5 s on two cores
(prompt reading is compute-bound: batch sizes and flash attention change it by under 10%). llama.cpp's
state after that prefix (its KV cache, 46 MB for SmolLM2) restores in a fraction of a second, so it
is kept on disk and a later process starts from it. A warm process gains too: in ``full`` mode the
context holds the critique's prompt when the next question's ReAct prompt comes, and restoring its
prefix costs less than reading it again.

Only the system turn is cached: it is the part every question shares, and it holds no question or
evidence. A file is named by a digest of everything its state depends on (the model file's path, size
and modification time, the llama-cpp-python version, the context size, the prefix's tokens), so a
changed tool list, model or library never restores a stale state, and the tokens are stored beside
the state and checked before it is used. Restoring is an optimisation, never a source of answers:
llama-cpp-python compares the context's tokens with each prompt's and reads whatever differs, so a
state that did not match would cost time, not correctness.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from txscout.core.files import atomic_write_bytes

MIN_TOKENS = 512
"""Shorter prefixes are read faster than a state file of them is restored."""
WORTH_RESTORING = 256
"""Tokens the context must lack before a restore beats reading the rest of the prefix."""
KEEP_FILES = 4
"""States kept per folder, most recently used first: one per long system prompt in use."""

Outcome = Literal["kept", "restored", "saved", "unsaved", "read", "skipped"]
"""What :meth:`PromptCache.prime` did; ``unsaved``: read, but the state could not be written
(:attr:`PromptCache.problem` says why)."""


def shared_prefix(llama: Any, tokens: Sequence[int]) -> int:
    """How many leading ``tokens`` the context already holds."""
    held = llama.input_ids[: min(llama.n_tokens, len(tokens))]
    differs = np.flatnonzero(held != np.asarray(tokens[: len(held)], dtype=held.dtype))
    return int(differs[0]) if differs.size else len(held)


class PromptCache:
    """Saved llama.cpp states of long system prompts in ``folder``, for one model file; with no folder,
    prefixes are read into the context and kept there only."""

    def __init__(self, folder: Path | None, model_path: str) -> None:
        self.folder = folder
        self._identity = _identity(model_path)
        self.problem: str | None = None

    def path_for(self, llama: Any, tokens: Sequence[int]) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.sha256(self._identity.encode())
        digest.update(str(llama.n_ctx()).encode())
        digest.update(np.asarray(tokens, dtype=np.int32).tobytes())
        return self.folder / f"{digest.hexdigest()[:32]}.npz"

    def prime(self, llama: Any, tokens: Sequence[int], seed: int, *, ensure_saved: bool = False) -> Outcome:
        """Leave ``llama``'s context holding ``tokens``: as it is, restored from disk, or read (and saved).

        Called with the model's generation lock held, before the prompt that starts with ``tokens``;
        ``seed`` is the model's (each call passes its own, so a restored state needs no saved one).
        ``ensure_saved`` (``txscout warm``) saves the state even when the context holds it already.
        """
        if len(tokens) < MIN_TOKENS:
            return "skipped"
        shared = shared_prefix(llama, tokens)
        path = self.path_for(llama, tokens)
        held = shared >= len(tokens) - WORTH_RESTORING
        if held and not (ensure_saved and path is not None and not path.exists()):
            return "kept"
        if not held and path is not None and self._restore(llama, path, tokens, seed):
            return "restored"
        llama.n_tokens = shared
        llama.eval(list(tokens[shared:]))  # evaluating drops what the context held past ``shared`` first
        if path is None:
            return "read"
        return "saved" if self._save(llama, path, tokens) else "unsaved"

    def _restore(self, llama: Any, path: Path, tokens: Sequence[int], seed: int) -> bool:
        from llama_cpp import LlamaState

        try:
            with np.load(path) as saved:
                stored, state = saved["tokens"], saved["state"]
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)  # damaged: read the prompt and save it again
            return False
        if stored.tolist() != list(tokens):
            return False
        input_ids = np.zeros(llama.n_ctx(), dtype=np.intc)
        input_ids[: len(tokens)] = tokens
        llama.load_state(
            LlamaState(
                input_ids=input_ids,
                scores=np.zeros((1, llama.n_vocab()), dtype=np.single),
                n_tokens=len(tokens),
                llama_state=state.tobytes(),
                llama_state_size=state.size,
                seed=seed,
            )
        )
        with contextlib.suppress(OSError):
            path.touch()  # recently used, so eviction keeps it
        return True

    def _save(self, llama: Any, path: Path, tokens: Sequence[int]) -> bool:
        """Whether the state was written. A full disk or a read-only folder costs later processes time,
        nothing else, so generation goes on; ``txscout warm`` reports it (:attr:`problem`)."""
        state = llama.save_state()
        buffer = io.BytesIO()
        np.savez(
            buffer,
            tokens=np.asarray(tokens, dtype=np.int32),
            state=np.frombuffer(state.llama_state, dtype=np.uint8, count=state.llama_state_size),
        )
        try:
            atomic_write_bytes(path, buffer.getvalue(), private=True)
        except OSError as exc:
            self.problem = f"cannot save the prompt state in {path.parent}: {exc.strerror or exc}"
            return False
        _evict(path.parent)
        return True


def _evict(folder: Path) -> None:
    """Keep the :data:`KEEP_FILES` most recently used states; another process may be evicting too."""
    dated = []
    for state in folder.glob("*.npz"):
        with contextlib.suppress(OSError):
            dated.append((state.stat().st_mtime, state))
    for _, old in sorted(dated, reverse=True)[KEEP_FILES:]:
        with contextlib.suppress(OSError):
            old.unlink(missing_ok=True)


def _identity(model_path: str) -> str:
    from llama_cpp import __version__

    stat = Path(model_path).stat()
    return f"{Path(model_path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|llama-cpp-python {__version__}"
