"""One line of facts a researcher glances at: what is running, on which model, at what cost, online or not.

The clock is injectable so snapshot tests render a fixed elapsed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from txscout.core.text import clean_line
from txscout.tui._css import sibling_css

STATE_STYLE = {
    "ready": ("●", "green"),
    "loading model…": ("◌", "yellow"),
    "running": ("●", "cyan"),
    "cancelling…": ("◌", "red"),
    "no model": ("✗", "red"),
    "loading": ("◌", "yellow"),
    "reading prompt": ("◌", "cyan"),
}
"""Symbols by state; a state with details ("loading: the tools", "reading prompt 512/2,048 tokens") is
styled by its leading words."""


class StatusBar(Static):
    DEFAULT_CSS = sibling_css(__file__)

    state: reactive[str] = reactive("loading model…")
    model: reactive[str] = reactive("")
    mode: reactive[str] = reactive("")
    offline: reactive[bool] = reactive(False)
    input_tokens: reactive[int] = reactive(0)
    output_tokens: reactive[int] = reactive(0)
    elapsed: reactive[float] = reactive(0.0)
    position: reactive[str] = reactive("")

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self._started = 0.0
        self._timer: Timer | None = None

    def start_clock(self) -> None:
        self._started = self._clock()
        self.elapsed = 0.0
        self.input_tokens = self.output_tokens = 0
        self._timer = self.set_interval(0.2, self._tick)

    def stop_clock(self, final_s: float | None = None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if final_s is not None:
            self.elapsed = final_s

    def _tick(self) -> None:
        self.elapsed = self._clock() - self._started

    def render(self) -> Text:
        lead = next((name for name in STATE_STYLE if self.state.startswith(name)), "")
        symbol, colour = STATE_STYLE.get(self.state) or STATE_STYLE.get(lead, ("●", "default"))
        text = Text(f" {symbol} {self.state}", style=f"bold {colour}")
        parts = [
            f"model {clean_line(self.model) or '—'}",
            f"mode {clean_line(self.mode)}",
            f"tokens {self.input_tokens:,} in · {self.output_tokens:,} out",
            f"{self.elapsed:.1f} s",
        ]
        if self.position:
            parts.append(clean_line(self.position))
        for part in parts:
            text.append(" │ ", style="dim")
            text.append(part)
        text.append(" │ ", style="dim")
        text.append("network off" if self.offline else "network on", style="yellow" if self.offline else "green")
        return text
