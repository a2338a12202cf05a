"""Atomic rewrites: a file is replaced whole or left as it was, and no temporary file stays behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from txscout.core.files import atomic_write_bytes, atomic_write_text, atomic_writer


def test_rewrite_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "records.jsonl"
    target.write_text("old\n", encoding="utf-8")
    atomic_write_text(target, "new line one\nnew line two\n", durable=True)
    assert target.read_text(encoding="utf-8") == "new line one\nnew line two\n"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["records.jsonl"]


def test_failure_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text('{"n": 1}', encoding="utf-8")
    with pytest.raises(RuntimeError, match="disk gone"), atomic_writer(target) as fh:
        fh.write('{"n": 2, "half')
        raise RuntimeError("disk gone")
    assert target.read_text(encoding="utf-8") == '{"n": 1}'
    assert os.listdir(tmp_path) == ["summary.json"]


def test_private_files_are_0600_and_others_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new" / "session.json", "{}", private=True)
        atomic_write_text(tmp_path / "summary.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "session.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == 0o644
