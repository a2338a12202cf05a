"""One model reply as the run makes it: streamed piece by piece, stoppable between pieces, its failures
turned into the run's errors and its tokens counted even when the model reports none.

``Run.call_model`` and ``Run.sample`` own the budgets and the accounting; this module is what happens
between the request and the merged reply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk, message_chunk_to_message

from txscout.agent.backends.capabilities import connection_error
from txscout.core.errors import Cancelled, LimitReached, ModelUnavailable

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import LLMResult
    from langchain_core.runnables import Runnable


@dataclass
class Streamed:
    """A streamed reply: the merged message, how many text pieces it came in, whether the run's
    cancel flag stopped it."""

    reply: Any = None
    pieces: int = 0
    cancelled: bool = False


def stream_reply(
    model: Runnable[Any, Any],
    messages: list[BaseMessage],
    request: dict[str, Any],
    *,
    cancel: threading.Event,
    on_text: Callable[[str], None],
) -> Streamed:
    """The reply merged from its streamed chunks (a model that cannot stream gives one message); each
    piece of text goes to ``on_text`` as it arrives, and once ``cancel`` is set the stream is closed."""
    out = Streamed()
    stream = model.stream(messages, **request)
    try:
        for chunk in stream:
            out.reply = chunk if out.reply is None or not isinstance(chunk, AIMessageChunk) else out.reply + chunk
            if chunk.text:
                out.pieces += 1
                on_text(chunk.text)
            if cancel.is_set():
                out.cancelled = True
                break
    finally:
        stream.close()
    if isinstance(out.reply, AIMessageChunk):
        out.reply = message_chunk_to_message(out.reply)
    elif out.reply is None:
        out.reply = AIMessage("")
    return out


def reply_tokens(streamed: Streamed, messages: Sequence[BaseMessage]) -> tuple[int, int]:
    """Input and output tokens of a reply: as the model reported them, else estimated (four characters
    a token; the output as the pieces it streamed in)."""
    reply = streamed.reply
    usage = getattr(reply, "usage_metadata", None) or {}
    tokens_in = usage.get("input_tokens") or sum(len(str(m.content)) for m in messages) // 4
    tokens_out = usage.get("output_tokens") or streamed.pieces or max(1, len(reply.text) // 4)
    return tokens_in, tokens_out


def batched(result: LLMResult, n: int) -> tuple[list[AIMessage], int, int]:
    """The replies of one request that asked for ``n`` (at most ``n``; a server may ignore it and send
    one), with the input tokens of the one prompt and the output tokens of all replies, as reported."""
    replies = [g.message for g in result.generations[0] if isinstance(g.message, AIMessage)][:n]
    tokens_in = sum((r.usage_metadata or {}).get("input_tokens", 0) for r in replies[:1])
    tokens_out = sum((r.usage_metadata or {}).get("output_tokens", 0) for r in replies)
    return replies, tokens_in, tokens_out


def guarded(call: Callable[[], Any]) -> Any:
    """A model call with its failures turned into the run's errors: an unreachable endpoint or any
    other failure becomes ``ModelUnavailable``; the run's own stop signals pass through."""
    try:
        return call()
    except (ModelUnavailable, LimitReached, Cancelled):
        raise
    except Exception as exc:
        if connection_error(exc):
            raise ModelUnavailable(f"cannot reach the model endpoint: {exc}") from exc
        raise ModelUnavailable(f"the model call failed: {type(exc).__name__}: {exc}") from exc
