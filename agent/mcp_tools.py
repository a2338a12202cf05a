"""Tools of external MCP servers for the agent, from the common client config ``{"mcpServers": {...}}``.

Each server's session stays open for the agent's lifetime on one background event loop (a stdio server
is started once, not per call), and its tools become ordinary synchronous LangChain tools named
``<server>_<tool>``, so the loop calls them like its own. A server that cannot be started or does not
answer is left out with one problem line for the caller to report; the others still serve.

The config is the one Claude Desktop, Claude Code and most MCP hosts use::

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/data"]},
        "search": {"url": "http://127.0.0.1:8765/mcp"},
        "legacy": {"url": "http://127.0.0.1:9000/sse", "type": "sse", "headers": {"Authorization": "..."}}
    }}
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import keyword
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from txscout.core.errors import UserError
from txscout.core.files import read_regular
from txscout.core.settings import CONFIG_LIMIT
from txscout.core.toolkit import NEEDS_NETWORK

if TYPE_CHECKING:
    from langchain_mcp_adapters.sessions import Connection

OPEN_TIMEOUT_S = 30.0
"""How long a server may take to start and list its tools before it is left out."""

_TRANSPORTS = {"stdio": "stdio", "http": "streamable_http", "streamable-http": "streamable_http", "sse": "sse"}
_TRANSPORTS |= {"streamable_http": "streamable_http", "websocket": "websocket", "ws": "websocket"}


def read_config(path: Path) -> dict[str, Connection]:
    """Server name to connection; any way the file is unusable is one user error naming the file."""
    raw = read_regular(path, "MCP config file", limit=CONFIG_LIMIT)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(
            f"MCP config file {path} is not UTF-8 text (undecodable byte at offset {exc.start:,})"
        ) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"MCP config file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise UserError(f'MCP config file {path} needs an "mcpServers" object, as in {{"mcpServers": {{...}}}}')
    return {name: _connection(path, name, entry) for name, entry in servers.items()}


def _connection(path: Path, name: str, entry: Any) -> Connection:
    where = f"MCP config file {path}, server {name!r}"
    if not isinstance(entry, dict):
        raise UserError(f"{where}: expected an object with a command or a url")
    kind = str(entry.get("transport") or entry.get("type") or ("stdio" if "command" in entry else "http"))
    transport = _TRANSPORTS.get(kind.lower())
    if transport is None:
        raise UserError(f"{where}: unknown transport {kind!r} (stdio, http, sse or websocket)")
    if transport == "stdio":
        if not isinstance(entry.get("command"), str) or not entry["command"]:
            raise UserError(f"{where}: a stdio server needs a command")
        args = entry.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise UserError(f"{where}: args must be a list of strings")
        connection: dict[str, Any] = {"transport": "stdio", "command": entry["command"], "args": args}
        for key in ("env", "cwd"):
            if entry.get(key) is not None:
                connection[key] = entry[key]
        return connection  # type: ignore[return-value]
    if not isinstance(entry.get("url"), str) or not entry["url"]:
        raise UserError(f"{where}: a {kind} server needs a url")
    connection = {"transport": transport, "url": entry["url"]}
    if transport != "websocket" and entry.get("headers"):
        connection["headers"] = entry["headers"]
    return connection  # type: ignore[return-value]


class NotMcp(Exception):
    """A stdio MCP server wrote a line that is not JSON-RPC (a banner or log line on stdout)."""


def _unparsed(message: Exception) -> str:
    errors = message.errors() if isinstance(message, ValidationError) else []
    shown = f": {str(errors[0].get('input', ''))[:80]!r}" if errors else ""
    return f"it writes text that is not MCP JSON-RPC to stdout{shown}"


_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def _remote(connection: Connection) -> bool:
    """Whether the server is reached over the network: a URL to another machine (a stdio server runs here)."""
    url = connection.get("url")
    return isinstance(url, str) and urlparse(url).hostname not in _LOOPBACK


def _reason(exc: BaseException) -> str:
    """One line for a failure that may arrive wrapped in task-group exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _args_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model whose JSON schema is the server's own, so every part of the agent (prompts,
    grammars, argument checks) reads an external tool as it reads a built-in one. Values are checked by
    the server against its schema; here only required keys are."""
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for key, spec in (schema.get("properties") or {}).items():
        if not key.isidentifier() or keyword.iskeyword(key) or key.startswith("_") or hasattr(BaseModel, key):
            raise ValueError(f"argument name {key!r} cannot be represented")
        spec = spec if isinstance(spec, dict) else {}
        extra = {k: v for k, v in spec.items() if k not in ("default", "description", "title")}
        default = ... if key in required else spec.get("default")
        fields[key] = (Any, Field(default, description=spec.get("description"), json_schema_extra=extra))
    config = ConfigDict(json_schema_extra={"$defs": schema["$defs"]} if "$defs" in schema else None)
    return create_model(re.sub(r"\W", "_", name) + "_args", __config__=config, **fields)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(block.get("text", "") if isinstance(block, dict) else str(block) for block in content).strip()
    return json.dumps(content, default=str)


class McpServers:
    """Open sessions to the servers of one config and their tools; ``close`` ends them (also at exit)."""

    def __init__(self, config: Path, *, call_timeout_s: float, open_timeout_s: float = OPEN_TIMEOUT_S) -> None:
        self.connections = read_config(config)
        self.call_timeout_s = call_timeout_s
        self.tools: list[BaseTool] = []
        self.problems: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._closing = asyncio.Event()
        self._sessions: list[concurrent.futures.Future[None]] = []
        threading.Thread(target=self._loop.run_forever, name="txscout-mcp", daemon=True).start()
        atexit.register(self.close)
        for name, connection in self.connections.items():
            ready: concurrent.futures.Future[list[BaseTool]] = concurrent.futures.Future()
            session = asyncio.run_coroutine_threadsafe(self._hold(connection, name, ready), self._loop)
            self._sessions.append(session)
            try:
                self.tools.extend(ready.result(timeout=open_timeout_s))
            except concurrent.futures.TimeoutError:
                session.cancel()
                self.problems.append(f"MCP server {name!r} left out: no answer within {open_timeout_s:g} s")
            except NotMcp as exc:
                self.problems.append(f"MCP server {name!r} left out: {exc}")
            except Exception as exc:
                self.problems.append(f"MCP server {name!r} left out: {_reason(exc)}")

    async def _hold(self, connection: Connection, name: str, ready: concurrent.futures.Future[list[BaseTool]]) -> None:
        """Open the session, hand over its tools, and keep it open (in this one task, as anyio requires)
        until ``close``."""
        from langchain_mcp_adapters.sessions import create_session
        from langchain_mcp_adapters.tools import load_mcp_tools

        garbage: list[str] = []
        broken = asyncio.Event()

        async def watch(message: Any) -> None:
            """A line the SDK could not parse ends the opening at once, rather than leaving it to wait
            out its timeout for a reply that will never parse."""
            if isinstance(message, Exception) and not broken.is_set():
                garbage.append(_unparsed(message))
                broken.set()

        async def load(session: Any) -> list[BaseTool]:
            await session.initialize()
            return await load_mcp_tools(session, server_name=name, tool_name_prefix=True, handle_tool_errors=False)

        if connection["transport"] == "stdio":
            connection = {**connection, "session_kwargs": {"message_handler": watch}}  # type: ignore[typeddict-item]
        try:
            async with create_session(connection) as session:
                loading = asyncio.ensure_future(load(session))
                stop = asyncio.ensure_future(broken.wait())
                await asyncio.wait({loading, stop}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                if not loading.done():
                    loading.cancel()
                    raise NotMcp(garbage[0])  # leaving the session ends the server
                remote = loading.result()
                tools = []
                remote_host = _remote(connection)
                for tool in remote:
                    try:
                        tools.append(self._wrap(tool, needs_network=remote_host))
                    except ValueError as exc:
                        self.problems.append(f"MCP tool {tool.name!r} left out: {exc}")
                ready.set_result(tools)
                await self._closing.wait()
        except BaseException as exc:
            if not ready.done():
                if garbage:  # what the server wrote says more than how the pipe broke after it
                    ready.set_exception(NotMcp(garbage[0]))
                else:
                    ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(_reason(exc)))
            if not isinstance(exc, Exception):
                raise

    def _wrap(self, remote: BaseTool, *, needs_network: bool) -> BaseTool:
        """A synchronous tool that runs the remote call on the sessions' loop; a server reached over the
        network makes its tools network tools (``core.toolkit.NEEDS_NETWORK``)."""
        schema = remote.args_schema if isinstance(remote.args_schema, dict) else {}
        required = set(schema.get("required") or ())

        def call(**kwargs: Any) -> str:
            args = {k: v for k, v in kwargs.items() if v is not None or k in required}
            future = asyncio.run_coroutine_threadsafe(remote.ainvoke(args), self._loop)
            try:
                return _text(future.result(timeout=self.call_timeout_s))
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise ToolException(
                    f"{remote.name}: the MCP server did not answer within {self.call_timeout_s:g} s"
                ) from None
            except ToolException:
                raise
            except Exception as exc:
                raise ToolException(f"{remote.name}: the MCP server failed: {_reason(exc)}") from exc

        return StructuredTool.from_function(
            func=call,
            name=remote.name[:64],
            description=remote.description or remote.name,
            args_schema=_args_model(remote.name, schema),
            metadata={NEEDS_NETWORK: needs_network},
        )

    def close(self) -> None:
        if not self._loop.is_running():
            return
        self._loop.call_soon_threadsafe(self._closing.set)
        for session in self._sessions:
            try:
                session.result(timeout=5)
            except Exception:
                session.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
