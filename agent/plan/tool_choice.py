"""Which tools a run offers its model: only tools that can work, and, when more can than fit, the most
relevant to the question.

A tool that needs the network is not offered offline, nor one whose service is not configured
(``core.toolkit.unusable``): every call to it would only report that it could not run, and small models
keep calling it. When the tools that can work exceed ``max_offered_tools`` (an MCP server may bring
thousands, whose descriptions no prompt holds), they are ranked by the cosine similarity of the question
and each tool's name and description under the offline embedder, and the best are offered together
with the tools grounding uses. Below the cap every usable tool is offered in its declared order, so the
system prompt stays the same from question to question and the embedded model's saved prompt state
keeps applying.

Description embeddings are cached by a hash of the embedder's name and the text, in memory and in
``tool_cache_dir``: a server's tools are embedded once per machine, and a changed description alone is
embedded again.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from txscout.core.files import atomic_write_bytes
from txscout.core.toolkit import unusable

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.tools import BaseTool

    from txscout.core.settings import Settings

DESCRIPTION_CHARS = 600
"""Characters of a tool's description that are embedded: the embedder reads 256 tokens at most, and the
opening says what a tool is for."""
EMBED_BATCH = 64
"""Tool texts are short: batches of 64 embed them in about half the CPU time of the default 16."""
NAMED_BONUS = 1.0
"""Added to the score of a tool the question names outright, which then ranks above any similarity."""


class Encoder(Protocol):
    """What ranking needs of an embedder (``memory.embeddings.Embedder``): unit vectors and a name."""

    name: str

    def encode(self, texts: list[str], batch_size: int = ...) -> np.ndarray: ...


class ToolChoice(BaseModel):
    """The tools a run offers and why: recorded in the run's first event, so a trace shows what the model
    could call."""

    offered: list[str] = Field(description="the tools shown to the model, in their declared order")
    available: int = Field(description="tools that can work in this run (offered or not)")
    unusable: dict[str, str] = Field(default_factory=dict, description="tools not offered because they cannot work")
    scores: dict[str, float] = Field(
        default_factory=dict, description="relevance of each offered tool to the question, when they were ranked"
    )
    kept: list[str] = Field(default_factory=list, description="offered whatever their score: the tools grounding uses")
    plan_only: bool = Field(
        default=False,
        description="no tool is offered because the model does not pick tools well (its backend says so): "
        "the agent's plan runs the tools and the model answers from what it gathered",
    )


def tool_text(tool: BaseTool) -> str:
    """What a tool is ranked by: its name in words, then its description."""
    name = tool.name.replace("_", " ").replace("-", " ")
    return f"{name}: {' '.join(tool.description.split())}"[:DESCRIPTION_CHARS]


class DescriptionVectors:
    """Embeddings of tool texts by a hash of (embedder, text): held in memory for the process and saved in
    ``folder`` (one ``.npz`` per embedder) so later processes embed only what is new."""

    _held: ClassVar[dict[tuple[str, str], dict[str, Any]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, encoder: Encoder, folder: Path | None) -> None:
        self.encoder = encoder
        self.folder = folder
        self.embedded = 0
        """Texts this object had to embed (not found in memory or on disk)."""

    @property
    def _file(self) -> Path | None:
        return self.folder / f"{self.encoder.name}.npz" if self.folder is not None else None

    def _known(self) -> dict[str, Any]:
        key = (str(self._file), self.encoder.name)
        known = self._held.get(key)
        if known is None:
            known = self._held[key] = self._read()
        return known

    def _read(self) -> dict[str, Any]:
        import numpy as np

        if self._file is None or not self._file.exists():
            return {}
        try:
            with np.load(self._file) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            return {}  # an unreadable cache is rebuilt, never trusted

    def _save(self, known: dict[str, Any]) -> None:
        import numpy as np

        if self._file is None:
            return
        buffer = io.BytesIO()
        np.savez(buffer, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self._file, buffer.getvalue())
        except OSError:
            pass  # the vectors stay in memory; the next process embeds them again

    def digest(self, text: str) -> str:
        return hashlib.sha256(f"{self.encoder.name}\n{text}".encode()).hexdigest()[:32]

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts`` in order, embedding only those not cached."""
        import numpy as np

        keys = [self.digest(t) for t in texts]
        with self._lock:
            known = self._known()
            missing = list(dict.fromkeys(k for k in keys if k not in known))
            if missing:
                text_of = dict(zip(keys, texts, strict=True))
                fresh = self.encoder.encode([text_of[k] for k in missing], batch_size=EMBED_BATCH)
                known.update(zip(missing, fresh, strict=True))
                self.embedded += len(missing)
                self._save(known)
            return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)


class ToolChooser:
    """Chooses a run's tools under the settings of that run (cap, offline, cache folder), which the caller
    passes each time: an agent's settings change between runs (the TUI's network switch). The embedder
    loads on the first question that has more usable tools than the cap."""

    def __init__(self, encoder: Encoder | None = None) -> None:
        self._encoder = encoder
        self._vectors: DescriptionVectors | None = None

    def vectors(self, folder: Path | None) -> DescriptionVectors:
        if self._vectors is None or self._vectors.folder != folder:
            if self._encoder is None:
                from txscout.memory.embeddings import get_embedder

                self._encoder = get_embedder()
            self._vectors = DescriptionVectors(self._encoder, folder)
        return self._vectors

    @staticmethod
    def usable(tools: Sequence[BaseTool], *, offline: bool) -> tuple[list[BaseTool], dict[str, str]]:
        """The tools that can work in a run (offline or not), and why each other one cannot."""
        kept: list[BaseTool] = []
        left: dict[str, str] = {}
        for tool in tools:
            problem = unusable(tool, offline=offline)
            if problem is None:
                kept.append(tool)
            else:
                left[tool.name] = problem
        return kept, left

    def choose(
        self,
        question: str,
        tools: Sequence[BaseTool],
        settings: Settings,
        keep: Callable[[], Sequence[str]] = tuple,
    ) -> ToolChoice:
        """The tools to offer for ``question``; ``keep`` names the tools grounding will use (asked only when
        the usable tools must be ranked)."""
        usable, left = self.usable(tools, offline=settings.offline)
        cap = settings.max_offered_tools
        if len(usable) <= cap:
            return ToolChoice(offered=[t.name for t in usable], available=len(usable), unusable=left)
        scores = self.rank(question, usable, settings.tool_cache_dir)
        names = {t.name for t in usable}
        kept = [name for name in dict.fromkeys(keep()) if name in names][:cap]
        best = sorted(names - set(kept), key=lambda n: (-scores[n], n))[: cap - len(kept)]
        chosen = {*kept, *best}
        return ToolChoice(
            offered=[t.name for t in usable if t.name in chosen],
            available=len(usable),
            unusable=left,
            scores={n: round(scores[n], 4) for n in sorted(chosen, key=lambda n: -scores[n])},
            kept=kept,
        )

    def rank(self, question: str, tools: Sequence[BaseTool], folder: Path | None = None) -> dict[str, float]:
        """Each tool's relevance to ``question``: cosine similarity of their embeddings (cached in
        ``folder``), plus :data:`NAMED_BONUS` where the question names the tool."""
        vectors = self.vectors(folder)
        described = vectors.vectors([tool_text(t) for t in tools])
        asked = vectors.encoder.encode([question])[0]
        similarity = described @ asked
        return {
            tool.name: float(similarity[i]) + (NAMED_BONUS if _names(question, tool.name) else 0.0)
            for i, tool in enumerate(tools)
        }


def _names(question: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", question, re.IGNORECASE) is not None
