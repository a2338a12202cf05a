"""Whether a GBNF grammar admits a text, decided by llama.cpp's own grammar sampler.

Tests of the grammars txscout builds must show what a grammar lets through and what it refuses, not
only that it parses. llama.cpp decides that token by token while the model writes, so the check asks
it the same way: the text is tokenised with the embedded model's vocabulary (loaded alone, no
weights), each token is offered to the grammar sampler, which leaves it possible or rules it out, and
the end of the text must be a place where the grammar may stop.
"""

from __future__ import annotations

import ctypes
import functools
import math
from typing import Any


@functools.cache
def _vocab() -> Any:
    import llama_cpp

    from txscout.agent.backends.models import local_model_path

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(local_model_path("smollm2")).encode(), params)
    if not model:
        raise RuntimeError("could not load the embedded model's vocabulary")
    return model, llama_cpp.llama_model_get_vocab(model)


def _tokens(vocab: Any, text: str) -> list[int]:
    import llama_cpp

    raw = text.encode()
    buffer = (llama_cpp.llama_token * (len(raw) + 8))()
    count = llama_cpp.llama_tokenize(vocab, raw, len(raw), buffer, len(buffer), False, False)
    if count < 0:
        raise RuntimeError(f"could not tokenise {text!r}")
    return list(buffer[:count])


def _allowed(sampler: Any, token: int) -> bool:
    import llama_cpp

    data = (llama_cpp.llama_token_data * 1)(llama_cpp.llama_token_data(id=token, logit=0.0, p=0.0))
    candidates = llama_cpp.llama_token_data_array(data=data, size=1, selected=-1, sorted=False)
    llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
    return not math.isinf(data[0].logit)


def admits(grammar: str, text: str) -> bool:
    """Whether ``grammar`` lets a model write exactly ``text`` and stop there."""
    import llama_cpp

    _model, vocab = _vocab()
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
    if not sampler:
        raise ValueError("llama.cpp could not parse the grammar")
    try:
        for token in _tokens(vocab, text):
            if not _allowed(sampler, token):
                return False
            llama_cpp.llama_sampler_accept(sampler, token)
        return _allowed(sampler, llama_cpp.llama_vocab_eos(vocab))
    finally:
        llama_cpp.llama_sampler_free(sampler)
