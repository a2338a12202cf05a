"""The numpy query encoder gives the vectors the torch model gives, so a search needs no torch."""

from __future__ import annotations

import numpy as np

from txscout.memory.embeddings import Embedder
from txscout.memory.query_encoder import QueryEncoder

QUERIES = [
    "Does osimertinib improve overall survival in EGFR-mutated lung cancer?",
    "KRAS G12C",
    "What is the mechanism of metformin in type 2 diabetes and how does it lower hepatic glucose output?",
]


def test_float_vectors_match_sentence_transformers() -> None:
    ours = QueryEncoder(quantized=False).encode(QUERIES)
    theirs = Embedder(quantized=False).encode(QUERIES)
    assert np.allclose((ours * theirs).sum(1), 1.0, atol=1e-5)


def test_int8_vectors_are_close_to_the_quantised_model(embedder: Embedder) -> None:
    ours = QueryEncoder(quantized=True).encode(QUERIES)
    theirs = np.stack([embedder.encode([q])[0] for q in QUERIES])
    floats = QueryEncoder(quantized=False).encode(QUERIES)
    agreement = (ours * theirs).sum(1)
    assert (agreement > 0.97).all()
    assert (agreement > (floats * theirs).sum(1)).all()  # closer than unquantised vectors would be
