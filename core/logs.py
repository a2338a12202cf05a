"""Log records of the libraries txscout runs on (the MCP SDK, uvicorn) as one clean line each.

The SDK logs a client that hung up mid-request, or a server that printed a banner on stdout, with
``logger.exception``: a traceback on the terminal for something that is not txscout's failure and
often not a failure at all. The command line shows such records as one line (level, logger, message
and the exception's one-line summary), cleaned of terminal control and with secrets masked, since
a message may quote what a peer sent.
"""

from __future__ import annotations

import logging
import sys

from txscout.core.secrets import mask_text
from txscout.core.text import clean_line

_SUMMARY_CHARS = 300


class OneLine(logging.Formatter):
    """``level: logger: message (ExceptionType: first words of it)``, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            summary = " ".join(str(exc).split())[:_SUMMARY_CHARS]
            text = f"{text} ({type(exc).__name__}{': ' + summary if summary else ''})"
        return clean_line(f"{record.levelname.lower()}: {record.name}: {mask_text(text)}")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes, not when the handler was made (a test
    runner swaps it, and closes the one it swapped in)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def one_line_logs(levels: dict[str, int]) -> None:
    """Route each named logger (and its children) to stderr as :class:`OneLine` records from its level
    up, and no further: a handler the application set up elsewhere does not print them again."""
    handler = _Stderr()
    handler.setFormatter(OneLine())
    for name, level in levels.items():
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
