"""The ``txscout`` command. Heavy libraries load inside commands, so ``txscout --help`` starts fast.

User mistakes raise ``UserError`` anywhere below; the top-level group turns them into one line on
stderr and exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from txscout import __version__
from txscout.benchmarks.cli import app as bench_app
from txscout.cli.memory import app as memory_app
from txscout.core.errors import ModelUnavailable, UserError
from txscout.core.files import check_text, path_kind
from txscout.core.logs import one_line_logs
from txscout.core.output import write_stdout
from txscout.core.text import clean, clean_line
from txscout.mcp.cli import serve as mcp_serve

if TYPE_CHECKING:
    from txscout.agent.result import Answer
    from txscout.core.events import TraceWriter
    from txscout.core.settings import Settings

out = Console()
err = Console(stderr=True)

EXIT_INCOMPLETE = 3
EXIT_FAILED = 4
EXIT_CANCELLED = 130
EXIT_CODES = {"incomplete": EXIT_INCOMPLETE, "failed": EXIT_FAILED, "cancelled": EXIT_CANCELLED}
"""``ask``'s exit code by run status (README, "Exit codes"): 0 answered, 2 bad input, 3 incomplete (the
budgets ran out before any answer could be formed), 4 failed (the model stopped answering mid-run),
130 cancelled."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr; the caller raises the returned exit (code 2 unless told). The message may carry
    user text (a file name, a model spec), so it is cleaned and never read as markup, and it may quote
    an endpoint that echoed a key back, so secrets are masked (the configured ones too, when the
    settings can be read)."""
    from txscout.core.secrets import mask_text
    from txscout.core.settings import load_settings

    try:
        settings = load_settings()
    except UserError:
        settings = None
    line = clean_line(mask_text(message, settings))
    err.print(Text.assemble(("error: ", "bold red"), line), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _usage_line(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return exc.format_message().rstrip(".") + where


class _Group(TyperGroup):
    """Every command group of the CLI, mounted sub-apps included. User mistakes end here as one line on
    stderr and exit code 2: a ``UserError`` from any command, and click's usage errors (unknown option,
    missing argument, bad value), which would otherwise print a usage block and a panel."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            help_text = ctx.get_help()  # the rich formatter prints it itself and returns ""
            if help_text:
                typer.echo(help_text)
            raise typer.Exit(2)
        return super().parse_args(ctx, args)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except typer.TyperException as exc:
            raise fail(_usage_line(exc)) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            raise fail(str(exc)) from None
        except typer.TyperException as exc:
            raise fail(_usage_line(exc)) from None


app = typer.Typer(
    name="txscout",
    cls=_Group,
    help="Tool-using research assistant for therapeutics, oncology and chemistry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
tools_app = typer.Typer(cls=_Group, help="List and call tools directly, without a model.", no_args_is_help=True)
config_app = typer.Typer(cls=_Group, help="Show the effective configuration.", no_args_is_help=True)
trace_app = typer.Typer(cls=_Group, help="Re-render saved JSONL traces.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")
app.add_typer(config_app, name="config")
app.add_typer(trace_app, name="trace")


app.add_typer(memory_app, name="memory", cls=_Group, help="Manage the evidence store.")
app.add_typer(bench_app, name="bench", cls=_Group, help="Run and report benchmarks.")
app.command("mcp")(mcp_serve)


def _version(value: bool) -> None:
    if value:
        out.print(f"txscout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Tool-using research assistant for therapeutics, oncology and chemistry."""
    # Library logs as one line each: the MCP SDK reports a peer that hung up or wrote garbage with a
    # traceback. Its client side is quiet below errors, because txscout reports each MCP server it
    # leaves out itself.
    one_line_logs({"mcp": logging.WARNING, "mcp.client": logging.CRITICAL, "uvicorn": logging.WARNING})


ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="local, local:NAME, local:/path.gguf, openai:MODEL or provider:model"),
]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint (or TXSCOUT_BASE_URL).")]
ModeOpt = Annotated[str | None, typer.Option("--mode", help="bare | react | full")]
OfflineOpt = Annotated[
    bool | None, typer.Option("--offline/--online", help="Network tools report that the network is off.")
]
McpConfigOpt = Annotated[
    Path | None,
    typer.Option("--mcp-config", help='Give the agent the tools of the MCP servers in this {"mcpServers": ...} file.'),
]


def _settings(**flags: Any) -> Settings:
    from txscout.core.settings import load_settings

    return load_settings(**flags)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The research question.")],
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Maximum ReAct steps.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON on stdout.")] = False,
    trace: Annotated[Path | None, typer.Option("--trace", help="Write every event to this JSONL file.")] = None,
    offline: OfflineOpt = None,
    mcp_config: McpConfigOpt = None,
) -> None:
    """Answer a question with live steps and a cited answer."""
    if not question.strip():
        raise UserError("the question is empty")
    check_text(question, "the question")  # undecodable bytes on the command line arrive as surrogates
    settings = _settings(
        model=model, base_url=base_url, mode=mode, max_steps=max_steps, offline=offline, mcp_config=mcp_config
    )
    from txscout.agent.api import Agent
    from txscout.agent.render import ConsoleRenderer

    if settings.mcp_config is not None:
        from txscout.agent.mcp_tools import read_config

        read_config(settings.mcp_config)  # a broken file is a mistake in every mode, bare included
    console = err if as_json else out
    new_trace = trace is not None and path_kind(trace) == "missing"
    writer = _trace_writer(trace) if trace else None  # a bad path fails now, not after the model loads
    renderer = ConsoleRenderer(console)
    try:
        with console.status("loading model and tools…") as status:
            # A bare question uses no tools and stores no evidence: building them would only slow start-up.
            bare: dict[str, Any] = {"tools": [], "store": False} if settings.mode == "bare" else {}
            agent = Agent(
                settings=settings, on_stage=lambda stage: status.update(Text(f"{clean_line(stage)}…")), **bare
            )
        trace_failed: list[OSError] = []

        def on_event(event: Any) -> None:
            renderer(event)
            if writer and not trace_failed:
                try:
                    writer(event)
                except OSError as exc:  # a full disk stops the trace, not the run
                    trace_failed.append(exc)

        try:
            answer = _run_interruptibly(lambda cancel: agent.run(question, on_event=on_event, cancel=cancel))
        except ModelUnavailable as exc:
            raise fail(str(exc), EXIT_FAILED) from None
    finally:
        renderer.close()
        if writer:
            _close_trace(writer, trace_failed, remove_if_empty=new_trace)
    if as_json:
        # ASCII JSON, so control characters in a model's answer arrive escaped, never raw.
        write_stdout(json.dumps(answer.model_dump(mode="json", exclude={"events"}), indent=2) + "\n")
    if trace_failed:
        problem = trace_failed[0].strerror or trace_failed[0]
        raise UserError(f"cannot write the trace to {trace}: {problem} (the answer is complete, the trace is not)")
    if answer.status in EXIT_CODES:
        raise typer.Exit(EXIT_CODES[answer.status])


def _run_interruptibly(run: Callable[[threading.Event], Answer]) -> Answer:
    """Run in a worker thread so that Ctrl+C cancels the run instead of killing it mid-call: the run
    stops within a token, records ``cancelled`` in its trace and returns. A second Ctrl+C stops
    waiting (exit code 130)."""
    cancel = threading.Event()
    done = threading.Event()  # waited on instead of Thread.join, which Ctrl+C can leave wrongly "stopped"
    outcome: list[Answer] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(run(cancel))
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="txscout-ask", daemon=True).start()
    while not done.is_set():
        try:
            done.wait(0.1)
        except KeyboardInterrupt:
            if cancel.is_set():
                raise typer.Exit(EXIT_CANCELLED) from None
            cancel.set()
            err.print(Text("cancelling… (Ctrl+C again to quit at once)", style="yellow"))
    if failure:
        raise failure[0]
    return outcome[0]


def _close_trace(writer: TraceWriter, failed: list[OSError], *, remove_if_empty: bool) -> None:
    """Close the trace, noting in ``failed`` a last write that fails; a trace the run never wrote to is
    removed, so the model never starting leaves no empty file behind."""
    try:
        writer.close()
    except OSError as exc:
        failed.append(exc)
    if remove_if_empty and path_kind(writer.path) == "file" and writer.path.stat().st_size == 0:
        writer.path.unlink()


def _trace_writer(path: Path) -> TraceWriter:
    from txscout.core.events import TraceWriter

    if path_kind(path) == "directory":
        raise UserError(f"--trace {path} is a directory; give a file name such as {path / 'run.jsonl'}")
    try:
        return TraceWriter(path)
    except OSError as exc:
        raise UserError(f"cannot write the trace to {path}: {exc.strerror or exc}") from None


@app.command()
def models(
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the configured model and the embedded ones, and whether each can be used: an embedded GGUF is
    present, an endpoint answers /models and lists the model, a provider's package is installed."""
    from txscout.agent.backends.models import LOCAL_MODELS, describe, probe

    settings = _settings(model=model, base_url=base_url)
    configured = describe(settings.model)
    specs = dict.fromkeys([configured, *(f"local:{name}" for name in LOCAL_MODELS)])
    rows = [probe(spec, settings, configured=spec == configured) for spec in specs]
    if as_json:
        write_stdout(json.dumps([row.model_dump() for row in rows], indent=2) + "\n")
        return
    from rich.table import Table

    table = Table("model", "configured", "status", "where")
    for row in rows:
        status = Text(clean(row.status), style="green" if row.ok else "red")
        table.add_row(Text(clean(row.spec)), "✓" if row.configured else "", status, Text(clean(row.detail)))
    out.print(table)


@app.command()
def warm(model: ModelOpt = None, mcp_config: McpConfigOpt = None) -> None:
    """Load the model and read its ReAct system prompt ahead, saving its state for later processes
    (the embedded model; a no-op for others). Run once after installing or changing tools."""
    settings = _settings(model=model, mcp_config=mcp_config)
    from txscout.agent.api import Agent

    started = time.perf_counter()
    with err.status("loading model and tools…") as status:

        def stage(text: str) -> None:
            status.update(Text(f"{clean_line(text)}…"))  # a stage may name the model spec: never markup

        def reading(done: int, total: int) -> None:
            status.update(f"reading the system prompt: {done:,}/{total:,} tokens")

        agent = Agent(settings=settings, store=False, on_stage=stage)
        warmed = agent.warm(on_stage=stage, on_prompt=reading)
    took = time.perf_counter() - started
    if warmed:
        out.print(Text(f"{clean(agent.model_label)}: system prompt ready ({took:.1f} s)"))
    else:
        why = "it keeps no prompt state, or its runs open with a short prompt"
        out.print(Text(f"{clean(agent.model_label)}: nothing to prepare ({why})"))


@config_app.command("show")
def config_show(
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    mode: ModeOpt = None,
    offline: OfflineOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the groups as JSON.")] = False,
) -> None:
    """Print the effective settings by group: value (secrets masked), source and meaning.

    The source is flag, env, file or default; flags given here show what `ask` with the same flags uses.
    """
    from txscout.core.settings import config_path, explain_settings

    groups = explain_settings(model=model, base_url=base_url, mode=mode, offline=offline)
    if as_json:
        payload = {"config_file": str(config_path()), "groups": [group.model_dump(mode="json") for group in groups]}
        write_stdout(json.dumps(payload, indent=2) + "\n")
        return
    from rich.table import Table

    out.print(Text(f"config file: {clean_line(str(config_path()))}"))
    for group in groups:
        table = Table(title=Text(f"{group.name}: {group.description}", style="bold"), title_justify="left")
        table.add_column("setting")
        table.add_column("value", overflow="fold")  # a value is never cut short; descriptions may wrap
        table.add_column("source")
        table.add_column("description")
        for setting in group.settings:
            value = Text("not set", style="dim") if setting.value is None else Text(clean_line(str(setting.value)))
            table.add_row(setting.key, value, setting.source, setting.description)
        out.print(table)
    out.print(
        Text(
            "precedence: flags > environment (TXSCOUT_*, OPENAI_API_KEY, NCBI_API_KEY) > config file > defaults",
            style="dim",
        )
    )


@contextlib.contextmanager
def _tool_map(settings: Settings) -> Iterator[dict[str, Any]]:
    """The built-in tools and, with ``mcp_config``, those of its MCP servers, whose sessions close when the
    command is done (a server left out is one warning line on stderr; the others still serve)."""
    from txscout.agent.toolbox import default_tools

    tools = default_tools(settings)
    servers = None
    if settings.mcp_config is not None:
        from txscout.agent.mcp_tools import McpServers

        servers = McpServers(settings.mcp_config, call_timeout_s=settings.tool_timeout_s)
        for problem in servers.problems:
            err.print(Text.assemble(("warning: ", "yellow"), clean_line(problem)), soft_wrap=True)
        tools = [*tools, *servers.tools]
    try:
        yield {tool.name: tool for tool in tools}
    finally:
        if servers is not None:
            servers.close()


@tools_app.command("list")
def tools_list(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    offline: OfflineOpt = None,
    mcp_config: McpConfigOpt = None,
) -> None:
    """List every tool with its arguments, and whether it can work now (network, configuration)."""
    settings = _settings(offline=offline, mcp_config=mcp_config)
    with _tool_map(settings) as tools:
        _list_tools(tools, settings, as_json)


def _list_tools(tools: dict[str, Any], settings: Settings, as_json: bool) -> None:
    from txscout.core.toolkit import needs_network, unusable

    if as_json:
        payload = [
            {
                "name": t.name,
                "description": t.description,
                "args": t.tool_call_schema.model_json_schema(),
                "needs_network": needs_network(t),
                "unusable": unusable(t, offline=settings.offline),
            }
            for t in tools.values()
        ]
        write_stdout(json.dumps(payload, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table("tool", "arguments", "network", "description")
    for t in tools.values():
        props = t.tool_call_schema.model_json_schema().get("properties", {})
        summary = (t.description.strip().splitlines() or [""])[0]
        problem = unusable(t, offline=settings.offline)
        if problem:
            summary = f"{summary} (not offered: {problem})"
        table.add_row(
            Text(clean_line(t.name)),
            Text(clean_line(", ".join(props))),
            "yes" if needs_network(t) else "",
            Text(clean_line(summary)),
        )
    out.print(table)


@tools_app.command("call")
def tools_call(
    name: Annotated[str, typer.Argument(help="Tool name (see `txscout tools list`).")],
    args: Annotated[str, typer.Argument(help="Arguments as a JSON object.")] = "{}",
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result as JSON.")] = False,
    offline: OfflineOpt = None,
    mcp_config: McpConfigOpt = None,
) -> None:
    """Run one tool directly: for scripting and for checking tools without a model."""
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        raise UserError(f"arguments are not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(parsed, dict):
        raise UserError('arguments must be a JSON object, e.g. \'{"query": "aspirin"}\'')
    settings = _settings(offline=offline, mcp_config=mcp_config)
    with _tool_map(settings) as tools:
        _call_tool(tools, name, parsed, settings, as_json)


def _call_tool(tools: dict[str, Any], name: str, parsed: dict[str, Any], settings: Settings, as_json: bool) -> None:
    from pydantic import ValidationError

    from txscout.core.toolkit import ToolContext, tool_context

    tool = tools.get(name)
    if tool is None:
        shown = ", ".join(list(tools)[:20]) + (f" and {len(tools) - 20} more" if len(tools) > 20 else "")
        raise UserError(f"unknown tool {name!r}; available: {shown} (see txscout tools list)")
    if isinstance(tool.args_schema, type):
        try:
            tool.args_schema.model_validate(parsed)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in exc.errors())
            raise UserError(f"invalid arguments for {name}: {problems}") from None

    def say(text: str) -> None:
        err.print(Text(text, style="dim"))

    with tool_context(ToolContext(offline=settings.offline, status=say)):
        message = tool.invoke({"name": name, "args": parsed, "id": "cli", "type": "tool_call"})
    if getattr(message, "status", "success") == "error":
        problem = str(message.content)
        # Most tools name themselves in their errors already; say the name once either way.
        raise UserError(problem if problem.startswith(f"{name}:") else f"{name}: {problem}")
    if as_json:
        payload = message.artifact if message.artifact is not None else message.content
        write_stdout(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        out.print(Text(clean(str(message.content))), soft_wrap=True)


@trace_app.command("show")
def trace_show(path: Annotated[Path, typer.Argument(help="A JSONL trace written by --trace.")]) -> None:
    """Re-render a saved trace as the run looked live."""
    from txscout.agent.render import ConsoleRenderer
    from txscout.core.events import TraceFormatError, read_trace, validate_sequence

    kind = path_kind(path)
    if kind == "directory":
        raise UserError(f"{path} is a directory, not a trace file")
    if kind != "file":
        raise UserError(f"trace file not found: {path}")
    try:
        events = list(read_trace(path))
    except TraceFormatError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    renderer = ConsoleRenderer(out)
    for event in events:
        renderer(event)
    renderer.close()
    for problem in validate_sequence(events):
        err.print(Text.assemble(("warning: ", "yellow"), clean_line(problem)), soft_wrap=True)


@app.command()
def tui(model: ModelOpt = None, base_url: BaseUrlOpt = None, mode: ModeOpt = None, offline: OfflineOpt = None) -> None:
    """Open the terminal app."""
    settings = _settings(model=model, base_url=base_url, mode=mode, offline=offline)
    from txscout.tui.app import run_tui

    run_tui(settings, model=model, mode=mode)


def main() -> None:
    app()
