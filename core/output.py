"""Command output on stdout, written so that a full disk or a closed pipe is one line, not a traceback."""

from __future__ import annotations

import os
import sys

from txscout.core.errors import UserError


def write_stdout(text: str) -> None:
    """Write ``text`` to stdout and flush it now. A failure (``> /dev/full``, a disk quota, a reader that
    went away) is a user error; what could not be written is dropped, so the interpreter's own flush at
    exit does not fail a second time with a traceback of its own."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:
        discard_stdout()
        raise UserError(f"cannot write the output: {exc.strerror or exc}") from None


def discard_stdout() -> None:
    """Point stdout at the null device, dropping whatever is still buffered for it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
