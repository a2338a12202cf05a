"""Queries embedded by numpy: the bundled MiniLM's weights run without torch or sentence-transformers.

Importing sentence-transformers and torch takes seconds even on an idle machine, and a search embeds
one short query. This module runs the same network (BERT, six layers, mean pooling, unit length) in
numpy from the model's safetensors file with the model's own fast tokenizer, so ``memory search`` in a
fresh process loads neither.

With ``quantized`` it reproduces torch's dynamic int8 quantisation of the linear layers (weights
per-tensor symmetric int8, activations per-tensor affine over 7 bits, as fbgemm does on x86), so a
query vector matches the one :class:`txscout.memory.embeddings.Embedder` would give and the store's
int8 vectors are compared with their own kind (``tests/test_query_encoder.py`` checks the agreement).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from txscout.memory.embeddings import DIMENSIONS, embedder_name, model_dir

if TYPE_CHECKING:
    import numpy as np

_MAX_TOKENS = 256


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz and Stegun 7.1.26 (error below 1.5e-7), since numpy has no erf and BERT's GELU is exact."""
    import numpy as np

    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


class _Linear:
    def __init__(self, weight: np.ndarray, bias: np.ndarray, quantized: bool) -> None:
        import numpy as np

        self.bias = bias
        self.quantized = quantized
        if quantized:
            scale = float(np.abs(weight).max()) / 127.5
            weight = np.clip(np.round(weight / scale), -128, 127) * scale
        self.weight_t = np.ascontiguousarray(weight.T, dtype=np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.quantized:
            low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
            scale = (high - low) / 127 or 1.0
            zero = round(-low / scale)
            x = (np.clip(np.round(x / scale) + zero, 0, 127) - zero) * scale
        return x @ self.weight_t + self.bias


class QueryEncoder:
    """``encode`` like :class:`~txscout.memory.embeddings.Embedder`, for a handful of texts at a time."""

    def __init__(self, *, quantized: bool = True) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = model_dir()
        config = json.loads((path / "config.json").read_text())
        weights = load_file(str(Path(path) / "model.safetensors"))
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(_MAX_TOKENS)
        self.tokenizer.no_padding()
        self.quantized = quantized
        self.name = embedder_name(quantized)
        self._w = weights
        self._layers: list[dict[str, Any]] = []
        for n in range(int(config["num_hidden_layers"])):
            prefix = f"encoder.layer.{n}."

            def linear(name: str, prefix: str = prefix) -> _Linear:
                return _Linear(weights[f"{prefix}{name}.weight"], weights[f"{prefix}{name}.bias"], quantized)

            self._layers.append(
                {
                    "q": linear("attention.self.query"),
                    "k": linear("attention.self.key"),
                    "v": linear("attention.self.value"),
                    "o": linear("attention.output.dense"),
                    "ln1": (
                        weights[f"{prefix}attention.output.LayerNorm.weight"],
                        weights[f"{prefix}attention.output.LayerNorm.bias"],
                    ),
                    "up": linear("intermediate.dense"),
                    "down": linear("output.dense"),
                    "ln2": (weights[f"{prefix}output.LayerNorm.weight"], weights[f"{prefix}output.LayerNorm.bias"]),
                }
            )
        self._np = np

    def _norm(self, x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        np = self._np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * params[0] + params[1]

    def _one(self, text: str) -> np.ndarray:
        """One text at a time: no padding, so every token attends to every other and nothing is masked."""
        np = self._np
        w = self._w
        ids = np.array(self.tokenizer.encode(text).ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]))
        size = x.shape[-1] // self.heads
        for layer in self._layers:
            q, k, v = (layer[n](x).reshape(len(ids), self.heads, size).transpose(1, 0, 2) for n in "qkv")
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            context = (scores / scores.sum(-1, keepdims=True)) @ v
            x = self._norm(x + layer["o"](context.transpose(1, 0, 2).reshape(len(ids), -1)), layer["ln1"])
            hidden = layer["up"](x)
            hidden = 0.5 * hidden * (1.0 + _erf(hidden / np.sqrt(2.0)))
            x = self._norm(x + layer["down"](hidden), layer["ln2"])
        pooled = x.mean(0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        from threadpoolctl import threadpool_limits

        np = self._np
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # Matrices this small lose to BLAS threads waking each other: 2-3 s a query on two busy cores
        # with them, 0.1 s on one.
        with threadpool_limits(limits=1, user_api="blas"):
            return np.stack([self._one(t) for t in texts]).astype(np.float32)


_instances: dict[bool, QueryEncoder] = {}
_lock = threading.Lock()


def get_query_encoder(*, quantized: bool = True) -> QueryEncoder:
    """The process-wide query encoder, loaded on first use (about 90 MB of weights, no torch)."""
    with _lock:
        if quantized not in _instances:
            _instances[quantized] = QueryEncoder(quantized=quantized)
        return _instances[quantized]
