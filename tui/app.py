"""``txscout tui``: watch the agent think, read its sources and steer it, in a terminal.

Threading: the model loads and every run executes in Textual thread workers, so the interface never
waits on the model. The worker writes each event to the question's trace first, then drops it in the
app's inbox and posts a wake-up message (thread-safe, never blocks the run). Only the app thread
touches widgets and the session.

Pacing: the app applies everything in the inbox at once and then waits for that frame to paint before
taking more. A fast run (a scripted model, a cached tool) therefore costs one layout per frame, not one
per event, and the first entry reaches the screen without waiting for the rest of the run.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import ValidationError
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Input

from txscout.core.errors import UserError
from txscout.core.events import (
    ErrorRaised,
    Event,
    ModelCall,
    PromptRead,
    RunFinished,
    TextDelta,
    TraceFormatError,
    TraceWriter,
    read_trace,
)
from txscout.core.secrets import mask_text
from txscout.core.settings import MODES, Mode, Settings, load_settings
from txscout.core.text import clean, clean_line
from txscout.tui.live import LiveRun
from txscout.tui.screens.evidence import EvidenceScreen
from txscout.tui.screens.help import HelpScreen, key_label
from txscout.tui.screens.sessions import SessionsScreen
from txscout.tui.sessions import Session, SessionEntry, SessionStore
from txscout.tui.widgets.answer import WELCOME, AnswerPane, answer_markdown, answer_plain
from txscout.tui.widgets.evidence import EvidencePanel
from txscout.tui.widgets.question import QuestionInput
from txscout.tui.widgets.status import StatusBar
from txscout.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from txscout.agent.result import Answer


class Runner(Protocol):
    """What the app needs from an agent; ``agent.api.Agent`` is one, tests may pass a stand-in."""

    settings: Settings
    model_label: str

    def run(
        self,
        question: str,
        *,
        on_event: Callable[[Event], None] | None = None,
        cancel: threading.Event | None = None,
        mode: Mode | None = None,
    ) -> Answer: ...

    def warm(
        self,
        on_stage: Callable[[str], None] | None = None,
        on_prompt: Callable[[int, int], None] | None = None,
    ) -> bool:
        """Prepare for the first question (``Agent.warm``); False when there is nothing to prepare."""
        ...


AgentFactory = Callable[[], Runner]


def describe_error(exc: BaseException) -> str:
    """User errors carry a message written for people; anything else also names its type. Secrets a
    library or an endpoint quoted are masked: the text is shown and saved with the session."""
    if isinstance(exc, UserError):
        return mask_text(str(exc))
    return mask_text(f"{type(exc).__name__}: {exc}")


class AgentReady(Message):
    def __init__(self, agent: Runner) -> None:
        super().__init__()
        self.agent = agent


class AgentFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class InboxReady(Message):
    """A run worker left something in the inbox."""


class LoadStage(Message):
    """What loading the model is busy with; ``reading`` is the progress through the system prompt."""

    def __init__(self, stage: str, reading: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.stage = stage
        self.reading = reading


@dataclass
class RunEvent:
    number: int
    event: Event


@dataclass
class RunEnded:
    number: int
    answer: Answer | None
    error: str


class TraceProblem(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


@dataclass
class RunJob:
    number: int
    agent: Runner
    question: str
    mode: Mode
    cancel: threading.Event
    trace_path: Path


class TxscoutApp(App[None]):
    """The terminal app. ``agent_factory`` lets tests inject a scripted agent; by default the model
    named by ``model`` (or the settings) loads in a worker when the app starts."""

    CSS_PATH = "app.tcss"
    TITLE = "txscout"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_run", "Cancel run"),
        Binding("f1,question_mark", "help", "Keys"),
        Binding("ctrl+o", "sessions", "Sessions"),
        Binding("ctrl+n", "new_session", "New session"),
        Binding("ctrl+y", "copy_answer", "Copy answer"),
        Binding("ctrl+s", "export", "Export"),
        Binding("f4", "cycle_mode", "Mode"),
        Binding("f6", "toggle_network", "Network"),
        Binding("f7", "memory", "Memory", show=False),  # in the key help (F1); the footer stays as it was
        Binding("ctrl+up", "show_entry(-1)", "Show the session's previous question", show=False),
        Binding("ctrl+down", "show_entry(1)", "Show the session's next question", show=False),
        # Priority: the screen's own Tab walks every focusable row, observations included.
        Binding("tab", "panel(1)", "Next panel", show=False, priority=True),
        Binding("shift+tab", "panel(-1)", "Previous panel", show=False, priority=True),
    ]
    PANELS: ClassVar[tuple[str, ...]] = ("#question", "#timeline", "#answer", "#evidence-list")
    """What Tab and Shift+Tab step between, in order; a panel that cannot take focus (no sources yet) is
    passed over."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: str | None = None,
        mode: Mode | None = None,
        agent_factory: AgentFactory | None = None,
        store: SessionStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.settings = settings or load_settings()
        self.mode: Mode = mode or self.settings.mode
        self._mode_given = mode is not None
        self.model_spec = model or self.settings.model
        self._factory = agent_factory or self._default_factory
        self._injected = agent_factory is not None
        self.store = store or SessionStore.default()
        self.session: Session = self.store.new()
        self.agent: Runner | None = None
        self.running = False
        self.selected: int | None = None
        self.shown_entry: int | None = None
        self._clock = clock
        self._loading = False
        self._pending: str | None = None
        self._run_number = 0
        self._live: LiveRun | None = None
        self._cancel: threading.Event | None = None
        self._inbox: queue.SimpleQueue[RunEvent | RunEnded] = queue.SimpleQueue()
        self._frame_pending = False
        self._streamed_tokens = 0
        self._load_started = 0.0
        self._reading_noted = False

    def _default_factory(self) -> Runner:
        self.load_stage("importing the agent's libraries")
        from txscout.agent.api import Agent

        return Agent(model=self.model_spec, settings=self.settings, mode=self.mode, on_stage=self.load_stage)

    def load_stage(self, stage: str) -> None:
        """Say what loading is busy with (thread-safe: the loading worker calls it)."""
        self.post_message(LoadStage(stage))

    def _prompt_progress(self, done: int, total: int) -> None:
        self.post_message(LoadStage("reading the system prompt", (done, total)))

    def notify(self, message: str, *, title: str = "", markup: bool = False, **options: Any) -> None:
        """Notifications carry errors, titles and file names: plain text, cleaned of terminal control."""
        super().notify(clean(message), title=clean_line(title), markup=markup, **options)

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Timeline(id="timeline")
            with Vertical(id="side"):
                yield AnswerPane(id="answer")
                yield EvidencePanel(id="evidence")
        yield QuestionInput(self._history(), id="question")
        yield StatusBar(clock=self._clock, id="status")
        yield Footer()

    def _history(self) -> list[str]:
        try:
            return self.store.history()
        except OSError:
            return []

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def question_input(self) -> QuestionInput:
        return self.query_one(QuestionInput)

    def on_mount(self) -> None:
        self.status.mode = self.mode
        self.status.offline = self.settings.offline
        if not self._injected:
            from txscout.agent.backends.models import describe

            self.status.model = describe(self.model_spec)
        self.question_input.focus()
        self._start_loading()

    # --- model loading -------------------------------------------------------------------------

    @property
    def agent_ready(self) -> bool:
        return self.agent is not None

    def _start_loading(self) -> None:
        self._loading = True
        self._load_started = self._clock()
        self._reading_noted = False
        self.status.state = "loading model…"
        self.status.start_clock()
        self.timeline.note(f"loading model {self.status.model}…" if self.status.model else "loading model…")
        self._load_agent()

    def on_load_stage(self, message: LoadStage) -> None:
        """Each stage gets a timeline line with the time since loading began; progress through the system
        prompt moves the status line, with one timeline line when reading starts."""
        if not self._loading:
            return
        elapsed = self._clock() - self._load_started
        if message.reading is None:
            self.status.state = f"loading: {message.stage}"
            self.timeline.note(f"{message.stage}… · {elapsed:.1f} s")
            return
        done, total = message.reading
        self.status.state = f"loading: {message.stage} {done:,}/{total:,} tokens"
        if not self._reading_noted:
            self._reading_noted = True
            self.timeline.note(f"{message.stage} ({total:,} tokens)… · {elapsed:.1f} s")

    @work(thread=True, group="load", exit_on_error=False)
    def _load_agent(self) -> None:
        """Build the agent and read its system prompt ahead (``warm``, where it has one), so that the
        first question does not wait for the prompt and cannot be stuck behind a warm-up."""
        try:
            agent = self._factory()
        except Exception as exc:
            self.post_message(AgentFailed(describe_error(exc)))
            return
        try:
            agent.warm(on_stage=self.load_stage, on_prompt=self._prompt_progress)
        except Exception as exc:  # the first question reads the prompt itself; the app stays usable
            self.call_from_thread(self.timeline.note, f"could not prepare the model: {describe_error(exc)}", "error")
        self.post_message(AgentReady(agent))

    def on_agent_ready(self, message: AgentReady) -> None:
        self.agent = message.agent
        # The agent's libraries leave 10^5+ long-lived objects; every full garbage collection walks
        # them all and stalls the interface for a few hundred milliseconds. Freezing takes them out of
        # the collector's sight; objects created from here on are collected as usual.
        gc.freeze()
        self._loading = False
        if not self._mode_given:
            self.mode = message.agent.settings.mode
        self.status.mode = self.mode
        self.status.model = message.agent.model_label
        self.status.offline = message.agent.settings.offline
        self.status.state = "ready"
        took = self._clock() - self._load_started
        self.status.stop_clock(took)
        self.timeline.note(f"model {message.agent.model_label} ready in {took:.1f} s")
        self._warm_up_tools(message.agent)
        if self._pending is not None:
            question, self._pending = self._pending, None
            self._start_run(question)

    @staticmethod
    def _warm_up_tools(agent: Runner) -> None:
        """Load ADMET-AI in the background when the agent has its tool, so the first ADMET question
        does not wait several seconds for it."""
        if any(getattr(tool, "name", None) == "predict_admet" for tool in getattr(agent, "tools", ())):
            from txscout.tools.chemistry import admet

            admet.warm_up()

    def on_agent_failed(self, message: AgentFailed) -> None:
        self._loading = False
        self.status.state = "no model"
        self.status.stop_clock()
        self.timeline.note(f"the model could not be loaded: {message.error}", "error")
        self.notify(
            f"{message.error}\nAsk again (Enter) to retry.",
            title="The model could not be loaded",
            severity="error",
            timeout=12,
        )
        if self._pending is not None:
            self.question_input.value, self._pending = self._pending, None

    # --- asking ----------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = event.value.strip()
        if not question:
            self.notify("Type a question first.", severity="warning")
            return
        if self.running:
            self.notify("A run is in progress; press Esc to cancel it.", severity="warning")
            return
        self.question_input.value = ""
        self.question_input.remember(question)
        try:
            self.store.remember(question)
        except OSError as exc:
            self.notify(f"question history not saved: {exc}", severity="warning")
        if self.agent is None:
            self._pending = question
            if self._loading:
                self.timeline.note(f"will ask once the model is loaded: {question}")
            else:
                self._start_loading()
            return
        self._start_run(question)

    def _start_run(self, question: str) -> None:
        agent = self.agent
        assert agent is not None
        entry = SessionEntry(
            question=question,
            asked_at=time.time(),
            mode=self.mode,
            model=agent.model_label,
            trace=f"traces/q{len(self.session.entries) + 1:03d}.jsonl",
        )
        self.session.entries.append(entry)
        self._save()
        self._run_number += 1
        self._live = LiveRun(entry)
        self._cancel = threading.Event()
        self.selected = len(self.session.entries) - 1
        self.running = True
        self.timeline.reset(question)
        self.query_one(EvidencePanel).show([])
        self.query_one(AnswerPane).waiting(question)
        self.shown_entry = None
        self.status.state = "running"
        self.status.position = self._position()
        self.status.start_clock()
        self._streamed_tokens = 0
        self._run_agent(
            RunJob(
                number=self._run_number,
                agent=agent,
                question=question,
                mode=self.mode,
                cancel=self._cancel,
                trace_path=self.store.trace_path(self.session, entry),
            )
        )

    @work(thread=True, group="run", exit_on_error=False)
    def _run_agent(self, job: RunJob) -> None:
        """Runs in a thread. Whatever happens, the trace ends with run_finished and the app hears back."""
        finished = False
        writer: TraceWriter | None = None
        try:
            writer = TraceWriter(job.trace_path)
        except OSError as exc:
            self.post_message(TraceProblem(f"trace not written: {exc}"))

        def deliver(item: RunEvent | RunEnded) -> None:
            self._inbox.put(item)
            self.post_message(InboxReady())

        def on_event(event: Event) -> None:
            nonlocal finished, writer
            finished = finished or isinstance(event, RunFinished)
            if writer is not None:
                try:
                    writer(event)
                except OSError as exc:
                    writer = None
                    self.post_message(TraceProblem(f"trace writing stopped: {exc}"))
            deliver(RunEvent(job.number, event))

        try:
            answer = job.agent.run(job.question, on_event=on_event, cancel=job.cancel, mode=job.mode)
        except Exception as exc:
            error = describe_error(exc)
            if not finished:
                on_event(ErrorRaised(kind="internal", message=error))
                on_event(RunFinished(status="cancelled" if job.cancel.is_set() else "failed"))
            deliver(RunEnded(job.number, None, error))
        else:
            deliver(RunEnded(job.number, answer, ""))
        finally:
            if writer is not None:
                writer.close()

    def on_inbox_ready(self, _message: InboxReady) -> None:
        if not self._frame_pending:
            self._drain_inbox()

    def _drain_inbox(self) -> None:
        """Apply all waiting events in one batch, then take no more until this frame has painted."""
        batch: list[Event] = []
        drained = False
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            drained = True
            if item.number != self._run_number:
                continue
            if isinstance(item, RunEvent):
                batch.append(item.event)
            else:
                self._apply_events(batch)
                batch = []
                self._run_ended(item)
        self._apply_events(batch)
        if drained:
            self._frame_pending = True
            self.call_after_refresh(self._next_frame)

    def _next_frame(self) -> None:
        self._frame_pending = False
        if not self._inbox.empty():
            self._drain_inbox()

    def _apply_events(self, events: list[Event]) -> None:
        if not events or self._live is None:
            return
        self.timeline.add_all(events)
        panel = self.query_one(EvidencePanel)
        for event in events:
            record = self._live.apply(event)
            if record is not None:
                panel.add(record)
            if isinstance(event, ErrorRaised) and event.kind == "memory":
                self.notify(event.message, severity="warning")
        reading = [e for e in events if isinstance(e, PromptRead)]
        if reading and self.status.state.startswith(("running", "reading prompt")):
            last = reading[-1]
            self.status.state = (
                "running" if last.done >= last.total else f"reading prompt {last.done:,}/{last.total:,} tokens"
            )
        # Output tokens move while the model writes; a finished call's count replaces its streamed one.
        counted = False
        for event in events:
            if isinstance(event, TextDelta):
                self._streamed_tokens += event.tokens
            elif isinstance(event, ModelCall):
                self._streamed_tokens = 0
            else:
                continue
            counted = True
        if counted:
            self.status.input_tokens = self._live.entry.usage.input_tokens
            self.status.output_tokens = self._live.entry.usage.output_tokens + self._streamed_tokens

    def _run_ended(self, message: RunEnded) -> None:
        if self._live is None:
            return
        entry = self._live.entry
        if message.answer is not None:
            self._live.finish(message.answer)
        else:
            self._live.fail(message.error)
        self.running = False
        self._cancel = None
        self._save()
        self.status.stop_clock(entry.usage.elapsed_s)
        self.status.input_tokens, self.status.output_tokens = (
            entry.usage.input_tokens,
            entry.usage.output_tokens,
        )
        self.status.state = "ready"
        self.query_one(EvidencePanel).show(entry.evidence)
        # Markdown is the slowest widget to build: paint the timeline first, then the answer.
        self.call_after_refresh(self._show_answer, entry)
        if entry.status == "cancelled":
            self.notify("Run cancelled; the trace records the cancellation.")
        elif entry.status == "failed":
            self.notify(entry.error, title="Run failed", severity="error", timeout=10)
        elif entry.status == "incomplete":
            self.notify(entry.reason or "the answer is incomplete", title="Incomplete answer", severity="warning")

    def on_trace_problem(self, message: TraceProblem) -> None:
        self.notify(message.error, severity="warning")

    async def _show_answer(self, entry: SessionEntry) -> None:
        index = next((i for i, e in enumerate(self.session.entries) if e is entry), None)
        if index is None:
            return
        await self.query_one(AnswerPane).show(answer_markdown(entry), title=f"Answer {index + 1} · {entry.status}")
        self.shown_entry = index

    # --- cancelling ------------------------------------------------------------------------------

    def _busy(self) -> bool:
        """Session and mode changes wait for the run (bindings stay static: a dynamic footer would be
        rebuilt twice per question, which costs more than the rest of the frame)."""
        if self.running:
            self.notify("A question is running; wait for it or press Esc to cancel it.", severity="warning")
        return self.running

    def action_cancel_run(self) -> None:
        if self._cancel is None or self._cancel.is_set():
            return
        self._cancel.set()
        self.status.state = "cancelling…"
        self.timeline.note("cancel requested; the run stops within a token or at its next tool call", "warning")

    async def action_quit(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.exit()

    # --- sessions --------------------------------------------------------------------------------

    def _save(self) -> None:
        try:
            self.store.save(self.session)
        except OSError as exc:
            self.notify(f"session not saved: {exc}", severity="error")

    def _position(self) -> str:
        if self.selected is None:
            return ""
        return f"question {self.selected + 1} of {len(self.session.entries)}"

    def action_sessions(self) -> None:
        if self._busy():
            return
        try:
            summaries = self.store.summaries()
        except OSError as exc:
            self.notify(f"cannot list sessions: {exc}", severity="error")
            return
        current = self.session.id if self.session.entries else None
        self.push_screen(SessionsScreen(summaries, current), self._open_session)

    async def _open_session(self, session_id: str | None) -> None:
        if session_id is None:
            return
        try:
            session = self.store.load(session_id)
        except (OSError, ValidationError) as exc:
            self.notify(f"cannot open session {session_id}: {exc}", severity="error")
            return
        self.session = session
        if session.entries:
            await self._show_entry(len(session.entries) - 1)
        self.notify(f"Reopened session: {session.title}")

    async def action_new_session(self) -> None:
        if self._busy():
            return
        self.session = self.store.new()
        self.selected = None
        self.timeline.replay([])
        self.timeline.note("new session")
        self.query_one(EvidencePanel).show([])
        await self.query_one(AnswerPane).show(WELCOME)
        self.shown_entry = None
        self.status.position = ""
        self.question_input.focus()

    async def action_show_entry(self, step: int) -> None:
        if self._busy() or self.selected is None:
            return
        target = self.selected + step
        if 0 <= target < len(self.session.entries):
            await self._show_entry(target)

    async def _show_entry(self, index: int) -> None:
        """Show a past question as it ran: its trace in the timeline, its answer and its sources."""
        entry = self.session.entries[index]
        self.selected = index
        path = self.store.trace_path(self.session, entry)
        try:
            self.timeline.replay(list(read_trace(path)))
        except (OSError, TraceFormatError) as exc:
            self.timeline.replay([])
            self.timeline.note(f"trace unavailable: {exc}", "warning")
        self.query_one(EvidencePanel).show(entry.evidence)
        await self._show_answer(entry)
        self.status.position = self._position()
        self.status.input_tokens, self.status.output_tokens = (
            entry.usage.input_tokens,
            entry.usage.output_tokens,
        )
        self.status.stop_clock(entry.usage.elapsed_s)

    def action_export(self) -> None:
        if not self.session.entries:
            self.notify("Nothing to export yet.", severity="warning")
            return
        try:
            path = self.store.export(self.session)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.notify(f"Session exported to {path}", title="Exported", timeout=10)

    def _selected_entry(self) -> SessionEntry | None:
        if self.selected is None or self.selected >= len(self.session.entries):
            return None
        return self.session.entries[self.selected]

    def action_copy_answer(self) -> None:
        entry = self._selected_entry()
        if entry is None or not entry.answer:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(answer_plain(entry))
        self.notify("Answer copied to the clipboard.")

    # --- sources ---------------------------------------------------------------------------------

    def on_evidence_panel_opened(self, message: EvidencePanel.Opened) -> None:
        self.push_screen(EvidenceScreen(message.record), self._back_to_question)

    def _back_to_question(self, _result: object = None) -> None:
        """After reading a source the next thing typed is most often a question: it goes to the input,
        not to the list the source was opened from (where "?" would open the help)."""
        self.question_input.focus()

    # --- moving around ---------------------------------------------------------------------------

    def action_panel(self, step: int) -> None:
        """Focus the next (or previous) panel; inside a dialog, Tab keeps its usual meaning."""
        if self.screen is not self.screen_stack[0]:
            if step > 0:
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        panels = [self.query_one(selector) for selector in self.PANELS]
        focused = self.focused
        current = next(
            (
                i
                for i, panel in enumerate(panels)
                if focused is not None and (focused is panel or panel in focused.ancestors)
            ),
            -1 if step > 0 else 0,
        )
        for offset in range(1, len(panels) + 1):
            panel = panels[(current + step * offset) % len(panels)]
            if panel.focusable and panel.display:
                panel.focus()
                return

    def on_answer_pane_citation_clicked(self, message: AnswerPane.CitationClicked) -> None:
        if not self.query_one(EvidencePanel).open_ref(message.ref):
            self.notify(f"source [{message.ref}] is not in this run", severity="warning")

    # --- settings --------------------------------------------------------------------------------

    def action_cycle_mode(self) -> None:
        if self._busy():
            return
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self._mode_given = True
        self.status.mode = self.mode
        self.notify(f"mode {self.mode} for the next question")

    def action_toggle_network(self) -> None:
        """The agent's settings own the network switch: each run hands ``offline`` to every tool call it
        makes (tools never consult the settings they were built with), so this takes effect, both ways,
        from the next question."""
        if self.agent is None:
            self.notify("The model is not loaded yet.", severity="warning")
            return
        offline = not self.agent.settings.offline
        self.agent.settings = self.agent.settings.model_copy(update={"offline": offline})
        self.status.offline = offline
        self.notify(
            "network off from the next question: tools use only local data"
            if offline
            else "network on from the next question"
        )

    def action_memory(self) -> None:
        """Add a file or folder to the evidence store, or search it."""
        from txscout.memory.store import EvidenceStore
        from txscout.tui.screens.memory import MemoryScreen

        self.push_screen(MemoryScreen(EvidenceStore(self.settings)))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Sections of (keys, what they do), read from the bindings so help cannot drift from them."""

        def rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
            return [(key_label(b.key), b.description) for b in bindings if isinstance(b, Binding)]

        return [
            ("Everywhere", [*rows(self.BINDINGS), ("Ctrl+Q", "Quit (cancels a running question)")]),
            (
                "Question",
                [
                    ("Enter", "Ask the question"),
                    *rows(QuestionInput.BINDINGS),
                    ("→", "Accept the greyed-out suggestion from history"),
                ],
            ),
            ("Timeline", [*rows(Timeline.BINDINGS), ("Enter", "Expand or collapse the focused observation")]),
            (
                "Sources",
                [
                    ("Enter", "Read the highlighted source"),
                    *rows(EvidenceScreen.BINDINGS),
                    ("click [n]", "In the answer, open source n"),
                ],
            ),
        ]


def run_tui(settings: Settings, model: str | None, mode: str | None) -> None:
    """Entry point for ``txscout tui``: ``model`` and ``mode`` are the CLI flags (None when not given)."""
    if mode is not None and mode not in MODES:
        raise UserError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    chosen: Mode | None = next((m for m in MODES if m == mode), None)
    TxscoutApp(settings, model=model, mode=chosen).run()
