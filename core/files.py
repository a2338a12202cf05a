"""Files txscout reads from users and files it writes about them.

Traces, sessions and the evidence store hold a person's questions and what they read; on a shared machine
they are nobody else's business, so the directories txscout creates are 0700 and its files 0600,
whatever the umask. Files a user hands in are sniffed before they are trusted to be text: a binary
renamed ``.md`` is refused with one line rather than stored as garbage.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

from txscout.core.errors import UserError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotText(UserError):
    """A file given as text is binary or not UTF-8."""


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700; directories that already exist are left as they are."""
    missing: list[Path] = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)  # the umask can only narrow the mode further
    return path


def open_private(path: Path, mode: str = "a") -> IO[str]:
    """Open a UTF-8 text file for writing (``"a"`` or ``"w"``), created 0600 in a private directory."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    private_dir(Path(path).parent)
    fd = os.open(path, flags, PRIVATE_FILE)
    return os.fdopen(fd, mode, encoding="utf-8")


def write_private(path: Path, text: str) -> None:
    with open_private(path, "w") as fh:
        fh.write(text)


def check_text(text: str, source: str) -> str:
    """``text`` unchanged if it reads as text, else :class:`NotText` naming ``source``: NUL bytes or lone
    surrogates (undecodable input smuggled into a str) mean it is not. Other control characters, such as
    the colour codes of a saved log, are allowed here and removed when the text is shown."""
    if "\x00" in text:
        raise NotText(f"{source} is binary (it contains NUL bytes), not text")
    if _SURROGATE.search(text):
        raise NotText(f"{source} contains undecodable characters (lone surrogates), not text")
    return text


def refuse_binary(data: bytes, source: str) -> bytes:
    """``data`` unchanged unless it holds NUL bytes, which no text format has (for documents that
    declare their own encoding, such as HTML, where the bytes need not be UTF-8)."""
    if b"\x00" in data:
        raise NotText(f"{source} is binary (it contains NUL bytes), not text")
    return data


def sniff_text(data: bytes, source: str) -> str:
    """``data`` decoded as UTF-8 text and checked by :func:`check_text`; :class:`NotText` otherwise."""
    refuse_binary(data, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotText(f"{source} is not UTF-8 text (undecodable byte at offset {exc.start:,})") from None
    return check_text(text, source)


def read_bytes(path: Path) -> bytes:
    """The bytes of a file a user named; a directory or an unreadable file is a user error."""
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not a file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_text(path: Path) -> str:
    """The text of a file a user named, sniffed (:func:`sniff_text`)."""
    return sniff_text(read_bytes(path), str(path))
