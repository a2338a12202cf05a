"""Every user mistake, on every subcommand: exit code 2, exactly one line on stderr, no traceback.

Each row names the fragment its one line must contain, so a row cannot pass on some unrelated error.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txscout.cli import app

runner = CliRunner()


@dataclass
class Files:
    """Bad inputs on disk, made fresh for each row."""

    root: Path

    @property
    def directory(self) -> Path:
        return self.root

    @property
    def missing(self) -> Path:
        return self.root / "missing.jsonl"

    @property
    def binary_md(self) -> Path:
        """An executable renamed to look like Markdown."""
        path = self.root / "lsbin.md"
        shutil.copyfile("/bin/ls", path)
        return path

    @property
    def binary_jsonl(self) -> Path:
        path = self.root / "data.jsonl"
        shutil.copyfile("/bin/ls", path)
        return path

    @property
    def latin1_txt(self) -> Path:
        path = self.root / "notes.txt"
        path.write_bytes("Caf\xe9 au lait, na\xefve r\xe9sum\xe9\n".encode("latin-1"))
        return path

    def jsonl(self, line: str) -> Path:
        path = self.root / "export.jsonl"
        path.write_text(line + "\n", encoding="utf-8")
        return path

    @property
    def not_a_trace(self) -> Path:
        path = self.root / "trace.jsonl"
        path.write_text('{"type": "nonsense"}\n', encoding="utf-8")
        return path

    @property
    def pdf(self) -> Path:
        path = self.root / "paper.pdf"
        path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        return path

    @property
    def file(self) -> Path:
        path = self.root / "plain.txt"
        path.write_text("a file where a folder belongs\n", encoding="utf-8")
        return path


Row = tuple[Callable[[Files], list[str]], str]

ROWS: dict[str, Row] = {
    # the root command
    "unknown command": (lambda f: ["teleport"], "No such command 'teleport'"),
    "unknown root option": (lambda f: ["--bogus"], "No such option: --bogus"),
    # ask
    "ask, empty question": (lambda f: ["ask", "   "], "the question is empty"),
    "ask, no question": (lambda f: ["ask"], "Missing argument"),
    "ask, markup in the model spec": (lambda f: ["ask", "--model", "foo[/bar]", "hi"], "foo[/bar]"),
    "ask, unknown mode": (lambda f: ["ask", "--mode", "turbo", "hi"], "invalid setting mode"),
    "ask, steps not a number": (lambda f: ["ask", "--max-steps", "many", "hi"], "--max-steps"),
    # The trace directory is refused before the model loads: the model file does not exist either,
    # and that error would come first if the model were loaded first.
    "ask, trace is a directory": (
        lambda f: ["ask", "--model", f"local:{f.missing}.gguf", "--trace", str(f.directory), "hi"],
        "is a directory",
    ),
    # tools
    "tools list, unknown option": (lambda f: ["tools", "list", "--bogus"], "No such option: --bogus"),
    "tools call, markup in the name": (lambda f: ["tools", "call", "x[/foo]", "{}"], "unknown tool 'x[/foo]'"),
    "tools call, bad JSON": (lambda f: ["tools", "call", "identify_molecule", "{molecule: x}"], "not valid JSON"),
    "tools call, not an object": (lambda f: ["tools", "call", "identify_molecule", "[1, 2]"], "must be a JSON object"),
    "tools call, wrong argument": (
        lambda f: ["tools", "call", "identify_molecule", '{"smiles": "CCO"}'],
        "invalid arguments for identify_molecule",
    ),
    "tools call, molecule over the atom limit": (
        lambda f: ["tools", "call", "identify_molecule", '{"molecule": "' + "C" * 1001 + '"}', "--offline"],
        "the limit is 1,000",
    ),
    # trace show
    "trace show, missing file": (lambda f: ["trace", "show", str(f.missing)], "trace file not found"),
    "trace show, directory": (lambda f: ["trace", "show", str(f.directory)], "is a directory"),
    "trace show, binary file": (lambda f: ["trace", "show", str(f.binary_jsonl)], "binary"),
    "trace show, not UTF-8": (lambda f: ["trace", "show", str(f.latin1_txt)], "not UTF-8"),
    "trace show, not events": (lambda f: ["trace", "show", str(f.not_a_trace)], "not a txscout event"),
    # memory add
    "memory add, nothing": (lambda f: ["memory", "add"], "nothing to add"),
    "memory add, missing file": (lambda f: ["memory", "add", str(f.missing)], "no such file"),
    "memory add, folder with nothing to read": (
        lambda f: ["memory", "add", str(f.directory)],
        "no files txscout reads in this folder",
    ),
    "memory add, binary renamed .md": (lambda f: ["memory", "add", str(f.binary_md)], "binary"),
    "memory add, binary .jsonl": (lambda f: ["memory", "add", str(f.binary_jsonl)], "binary"),
    "memory add, text not UTF-8": (lambda f: ["memory", "add", str(f.latin1_txt)], "not UTF-8"),
    "memory add, jsonl line is a list": (
        lambda f: ["memory", "add", str(f.jsonl("[1,2,3]"))],
        ":1: not an evidence record",
    ),
    "memory add, jsonl line is null": (lambda f: ["memory", "add", str(f.jsonl("null"))], ":1: not an evidence record"),
    "memory add, jsonl line not JSON": (lambda f: ["memory", "add", str(f.jsonl("{oops"))], ":1: not JSON"),
    "memory add, truncated PDF": (lambda f: ["memory", "add", str(f.pdf)], "truncated PDF"),
    "memory add, limit zero": (lambda f: ["memory", "add", "--pubmed", "x", "--limit", "0"], "--limit"),
    # memory search, stats, export, clear
    "memory search, empty query": (lambda f: ["memory", "search", "  "], "the query is empty"),
    "memory search, unknown mode": (lambda f: ["memory", "search", "x", "--mode", "fuzzy"], "--mode"),
    "memory search, k zero": (lambda f: ["memory", "search", "x", "-k", "0"], "-k"),
    "memory stats, store path is a file": (
        lambda f: ["memory", "stats", "--memory-path", str(f.file)],
        "is a file, not a directory",
    ),
    "memory export, to a directory": (lambda f: ["memory", "export", str(f.directory)], "is a directory"),
    "memory export, missing folder": (
        lambda f: ["memory", "export", str(f.root / "no" / "such" / "out.jsonl")],
        "does not exist",
    ),
    "memory clear, without --yes": (lambda f: ["memory", "clear"], "--yes"),
    # bench
    "bench, unknown suite": (lambda f: ["bench", "nosuite"], "No such command 'nosuite'"),
    "bench validate, unknown suite": (lambda f: ["bench", "validate", "nosuite", "--data", str(f.file)], "nosuite"),
    "bench validate, missing data": (
        lambda f: ["bench", "validate", "medqa", "--data", str(f.missing)],
        "data path not found",
    ),
    "bench validate, binary file": (
        lambda f: ["bench", "validate", "medqa", "--data", str(f.binary_jsonl)],
        "not UTF-8 text",
    ),
    "bench suite, no --out": (lambda f: ["bench", "medqa", "--data", str(f.file)], "Missing option '--out'"),
    "bench suite, --out is a file": (
        lambda f: ["bench", "medqa", "--data", str(f.file), "--out", str(f.file)],
        "give a folder for the run",
    ),
    "bench suite, missing data": (
        lambda f: ["bench", "medqa", "--data", str(f.missing), "--out", str(f.root / "run")],
        "data path not found",
    ),
    "bench suite, limit not a number": (
        lambda f: ["bench", "medqa", "--data", str(f.file), "--out", str(f.root / "run"), "--limit", "all"],
        "--limit",
    ),
    "bench report, not a run": (lambda f: ["bench", "report", str(f.directory)], "not a benchmark run folder"),
    # config, tui
    "config, unknown subcommand": (lambda f: ["config", "edit"], "No such command 'edit'"),
    "config show, unknown option": (lambda f: ["config", "show", "--bogus"], "No such option: --bogus"),
    "tui, unknown mode": (lambda f: ["tui", "--mode", "turbo"], "invalid setting mode"),
    "tui, unknown option": (lambda f: ["tui", "--bogus"], "No such option: --bogus"),
}


@pytest.mark.parametrize(("build", "fragment"), [pytest.param(*row, id=name) for name, row in ROWS.items()])
def test_user_mistake_is_one_line_and_exit_2(
    build: Callable[[Files], list[str]], fragment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TXSCOUT_MEMORY_PATH", str(tmp_path / "memory"))
    work = tmp_path / "inputs"
    work.mkdir()
    result = runner.invoke(app, build(Files(work)))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], lines[0]
