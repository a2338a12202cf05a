"""Errors that carry control flow: user mistakes (exit code 2) and the loop's own stop signals."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the person at the keyboard: printed as one line, exit code 2, no traceback."""


class ModelUnavailable(UserError):
    """The configured model cannot be loaded or reached."""


class FormatError(Exception):
    """The model's reply could not be parsed; the message is fed back so it can correct itself."""


class LimitReached(Exception):
    """A budget ran out (steps, tool calls, time or tokens); the agent answers with what it has."""


class Cancelled(Exception):
    """The caller asked the run to stop."""
