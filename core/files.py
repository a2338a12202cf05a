"""Files txscout reads from users and files it writes about them.

Traces, sessions and the evidence store hold a person's questions and what they read; on a shared machine
they are nobody else's business, so the directories txscout creates are 0700 and its files 0600,
whatever the umask. Files a user hands in are sniffed before they are trusted to be text: a binary
renamed ``.md`` is refused with one line rather than stored as garbage.

Files txscout rewrites (sessions, benchmark records and summaries, caches, indexes, exports) are
written whole or not at all (:func:`atomic_writer`): into a temporary file beside the target, renamed
over it when complete, so a crash or a full disk never leaves half a file where a whole one was.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from txscout.core.errors import UserError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotText(UserError):
    """A file given as text is binary or not UTF-8."""


def path_kind(path: Path) -> Literal["file", "directory", "missing", "other"]:
    """What a path a user typed names. A name the system cannot take at all (too long, an embedded NUL,
    no permission to look) is a user error here, rather than an OSError from the first ``is_file``."""
    try:
        mode = Path(path).stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as exc:
        raise UserError(f"cannot use the path {str(path)[:200]}: {exc.strerror or exc}") from None
    except ValueError:
        raise UserError(f"cannot use the path {str(path)[:200]}: it contains a NUL byte") from None
    if stat.S_ISREG(mode):
        return "file"
    return "directory" if stat.S_ISDIR(mode) else "other"


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
        raise NotText(f"{source} is not UTF-8 text (it holds undecodable bytes)")
    return text


def refuse_binary(data: bytes, source: str) -> bytes:
    """``data`` unchanged unless it holds NUL bytes, which no text format has (for documents that
    declare their own encoding, such as HTML, where the bytes need not be UTF-8)."""
    if b"\x00" in data:
        raise NotText(f"{source} is binary (it contains NUL bytes), not text")
    return data


@contextlib.contextmanager
def atomic_writer(
    path: Path, *, binary: bool = False, private: bool = False, durable: bool = False
) -> Iterator[IO[Any]]:
    """A file handle whose content replaces ``path`` only once the block completes.

    The temporary file sits in the same directory (a rename is only atomic within one file system)
    and is removed if the block fails. ``private`` creates it 0600 in a private directory (made if
    missing); otherwise the umask decides, as for any new file. ``durable`` flushes it to disk before
    the rename, for files whose loss after a power cut would cost work (benchmark records). Text is
    UTF-8.
    """
    path = Path(path)
    if private:
        private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE if private else 0o666)
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, private: bool = False, durable: bool = False) -> None:
    """Replace ``path`` with ``text`` (UTF-8) all at once (:func:`atomic_writer`)."""
    with atomic_writer(path, private=private, durable=durable) as fh:
        fh.write(text)


def atomic_write_bytes(path: Path, data: bytes, *, private: bool = False, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` all at once (:func:`atomic_writer`)."""
    with atomic_writer(path, binary=True, private=private, durable=durable) as fh:
        fh.write(data)


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


def read_regular(path: Path, what: str, *, limit: int) -> bytes:
    """The bytes of a file a user named, at most ``limit`` of them, refusing anything but a regular file.

    A device (``/dev/zero``) would grow memory without end and a FIFO with no writer would block for
    ever, so the file is opened non-blocking and checked on the open descriptor (no race with a swap
    between check and read) before a byte is read. ``what`` names the file in the one-line errors."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UserError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise UserError(f"cannot read {what} {str(path)[:200]}: the path contains a NUL byte") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UserError(f"{what} {path} is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise UserError(f"{what} {path} is not a regular file (a device, FIFO or socket cannot be read)")
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UserError(f"{what} {path} is larger than {limit:,} bytes, too large to be one")
    return data
