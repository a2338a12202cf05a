"""Errors that carry control flow: user mistakes (exit code 2) and the loop's own stop signals."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


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


def validation_problems(exc: ValidationError, whole: str = "input") -> str:
    """Every problem of a pydantic validation error on one line, ``field: message; other.field: message``,
    so that a person (an invalid setting) or a model (invalid tool arguments) can fix them all at once.
    ``whole`` names the value itself when an error has no field."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}" for err in exc.errors())
