"""A deterministic bag-of-words embedder for tests about storage rather than meaning (no torch)."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashEmbedder:
    name = "hash-test"
    quantized = False

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)
