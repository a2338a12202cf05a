"""llama-cpp-python's own OpenAI-compatible server, with a function-calling chat format that shows the
model its tool results.

Why this launcher exists: llama-cpp-python's ``chatml-function-calling`` template
(``llama_cpp.llama_chat_format.chatml_function_calling``) renders system, user and assistant turns and
silently drops every ``role: tool`` message, so a model served with it never sees an observation and
cannot ground or cite an answer in one. Real servers render tool results (vLLM and Ollama through the
model's chat template). This module registers ``chatml-function-calling-observations``: each ``tool``
message becomes a ``user`` turn "Observation from <tool>: <content>", which the template keeps, and
everything else is delegated unchanged to ``chatml_function_calling``. It then runs
``llama_cpp.server``'s own entry point, so the rest (argument parsing, the FastAPI app, validation,
streaming) is the real server.

Run it as ``python -m tests.llama_server_tools`` with ``llama_cpp.server``'s arguments and
``--chat_format chatml-function-calling-observations``.
"""

from __future__ import annotations

from typing import Any

from llama_cpp.llama_chat_format import LlamaChatCompletionHandlerRegistry, chatml_function_calling
from llama_cpp.server.__main__ import main

from tests.real_servers import OBSERVATIONS_CHAT_FORMAT


def _tool_names(messages: list[dict[str, Any]]) -> dict[str, str]:
    """Tool name by call id, from the assistant turns that made the calls (a tool message carries only the id)."""
    return {
        call["id"]: call["function"]["name"]
        for message in messages
        if message.get("role") == "assistant"
        for call in message.get("tool_calls") or []
    }


def with_observations(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with each tool result as a user turn the ChatML function-calling template renders."""
    names = _tool_names(messages)
    return [
        {
            "role": "user",
            "content": f"Observation from {names.get(message.get('tool_call_id', ''), 'tool')}: {message['content']}",
        }
        if message.get("role") == "tool"
        else message
        for message in messages
    ]


def chatml_function_calling_observations(*, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    return chatml_function_calling(messages=with_observations(messages), **kwargs)


LlamaChatCompletionHandlerRegistry().register_chat_completion_handler(
    OBSERVATIONS_CHAT_FORMAT, chatml_function_calling_observations, overwrite=True
)

if __name__ == "__main__":
    main()
