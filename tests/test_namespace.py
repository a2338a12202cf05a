"""The package installs under one name, so a user's own ``tools.py``, ``agent.py`` or ``memory/``
cannot shadow it (issue: generic top-level import names)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TXSCOUT = Path(sys.executable).with_name("txscout")


@pytest.fixture
def crowded_dir(tmp_path: Path) -> Path:
    """A working directory holding the names agent projects use most, each broken on import."""
    (tmp_path / "tools.py").write_text("raise ImportError('the user tools.py was imported')\n")
    (tmp_path / "agent.py").write_text("raise ImportError('the user agent.py was imported')\n")
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "__init__.py").write_text("raise ImportError('the user memory/ was imported')\n")
    return tmp_path


def test_library_entry_imports_beside_user_modules(crowded_dir: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, '.'); "
        "from txscout import Agent, Answer, default_tools; "
        "names = sorted(t.name for t in default_tools()); "
        "print(Agent.__module__, Answer.__module__, len(names))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=crowded_dir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    agent_module, answer_module, count = done.stdout.split()
    assert (agent_module, answer_module) == ("txscout.agent.api", "txscout.agent.result")
    assert int(count) >= 10


def test_cli_asks_beside_user_modules(crowded_dir: Path) -> None:
    done = subprocess.run(
        [str(TXSCOUT), "ask", "--offline", "--mode", "bare", "--json", "What is aspirin?"],
        cwd=crowded_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "completed"
    assert answer["text"].strip()


def test_wheel_holds_one_top_level_name_and_no_perf_results(tmp_path: Path) -> None:
    """Built the way pip builds it: only ``txscout/`` at the top, package data kept, perf output left out."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(root),
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("txscout-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"txscout", wheel.name.split("-py3")[0] + ".dist-info"}
    assert "txscout/agent/api.py" in names
    assert "txscout/tui/app.tcss" in names
    assert "txscout/tools/chemistry/data/controlled_chemicals.json" in names
    assert not [n for n in names if "/perf/" in n]
