"""What every suite adapter provides, plus the shared pieces: file checks, JSONL reading with
line-numbered skips, seeded option shuffling and letter-graded multiple choice."""

from __future__ import annotations

import csv
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from txscout.benchmarks.grading import LETTERS, extract_confidence, extract_letters
from txscout.benchmarks.items import Grade, Item, LoadResult, Record, Skipped
from txscout.core.errors import UserError
from txscout.core.evidence import Evidence
from txscout.core.files import path_kind

if TYPE_CHECKING:
    from txscout.benchmarks.judge import Judge

JudgeUse = Literal["none", "optional", "required"]


class Adapter(ABC):
    """Turns a dataset file into items and grades one response the way the official grader does."""

    name: ClassVar[str]
    judge_use: ClassVar[JudgeUse] = "none"
    settings_offered: ClassVar[tuple[str, ...]] = ()
    """Ways the suite's questions can be asked (``--setting``), the default first; empty when there is one."""

    def __init__(self) -> None:
        self.setting: str | None = self.settings_offered[0] if self.settings_offered else None

    def use_setting(self, name: str | None) -> None:
        """Ask the questions the named way (None: the default); a way the suite lacks is a user error."""
        if name is None:
            return
        if name not in self.settings_offered:
            offered = ", ".join(self.settings_offered) or "only its default"
            raise UserError(f"the {self.name} suite has no setting {name!r} (it has {offered})")
        self.setting = name

    def documents(self, loaded: LoadResult) -> list[Evidence]:
        """What an open-book setting stores for the agent to search (``benchmarks.open_book``); empty when
        the questions carry what they need."""
        return []

    @abstractmethod
    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        """Parse the whole dataset; malformed rows become ``Skipped`` entries, never exceptions."""

    def read(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        """:meth:`load`, with data that cannot be read at all (a binary or non-UTF-8 file, a file where
        a folder belongs, no permission) reported as one-line user errors instead of tracebacks. A device
        or FIFO is refused before it is opened: ``/dev/zero`` would never end, a FIFO with no writer
        would block for ever."""
        refuse_special(path, f"{self.name} data")
        try:
            return self.load(path, seed=seed, shots=shots)
        except UnicodeDecodeError as exc:
            raise UserError(
                f"{self.name} data at {path} is not UTF-8 text (undecodable byte at offset {exc.start:,})"
            ) from None
        except csv.Error as exc:
            raise UserError(f"{self.name} data at {path} is not readable CSV: {exc}") from None
        except OSError as exc:
            raise UserError(f"cannot read {self.name} data at {path}: {exc.strerror or exc}") from None

    @abstractmethod
    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        """Score one response."""

    def grader_name(self, judge: Judge | None) -> str:
        return "letter-exact-set"

    def metrics(self, records: Sequence[Record]) -> dict[str, Any]:
        """Suite-specific figures beyond accuracy (macro-F1, coverage, calibration, axes)."""
        return {}


def require_path(path: Path, what: str) -> Path:
    path = path.expanduser()
    if not path.exists():
        raise UserError(f"data path not found: {path} (expected {what})")
    return path


def refuse_special(path: Path, what: str) -> None:
    """A user error for a path that names a device, FIFO or socket rather than a file or folder."""
    if path_kind(path) == "other":
        raise UserError(f"{what} at {path} is not a regular file or folder (a device, FIFO or socket cannot be read)")


def read_jsonl(path: Path, skipped: list[Skipped]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a JSONL file with their line numbers; bad lines are recorded and skipped."""
    refuse_special(path, "data")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                skipped.append(Skipped(source=f"{path}:{lineno}", reason=f"invalid JSON: {exc.msg}", malformed=True))
                continue
            if not isinstance(row, dict):
                skipped.append(Skipped(source=f"{path}:{lineno}", reason="row is not a JSON object", malformed=True))
                continue
            yield lineno, row


def malformed(source: str, reason: str) -> Skipped:
    return Skipped(source=source, reason=reason, malformed=True)


def seeded_order(n: int, seed: int, key: str) -> list[int]:
    """A permutation that depends only on (seed, question key): reruns and resumes see the same order."""
    return random.Random(f"{seed}:{key}").sample(range(n), n)


def mc_prompt(question: str, choices: Sequence[str], *, multi: bool = False, preamble: str = "") -> str:
    options = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(choices))
    if multi:
        instruction = (
            "One or more options may be correct. End with a line of the form "
            "'Answer: <letters of all correct options, comma-separated>'."
        )
    else:
        instruction = "End with a line of the form 'Answer: <letter of the correct option>'."
    return f"{preamble}{question.strip()}\n\n{options}\n\n{instruction}"


def grade_letters(item: Item, response: str) -> Grade:
    """Exact-set letter grading: correct only if the chosen letters are exactly the gold letters."""
    letters = extract_letters(response, len(item.choices), item.choices)
    gold = item.gold if isinstance(item.gold, list) else [str(item.gold)]
    correct = bool(letters) and letters == sorted(gold)
    return Grade(
        prediction=", ".join(letters) if letters else None,
        correct=correct,
        score=1.0 if correct else 0.0,
        confidence=extract_confidence(response),
        grader="letter-exact-set",
    )


def check_subsets(items: Sequence[Item], wanted: Sequence[str]) -> None:
    """Unknown subset names are a user error that lists what the file actually offers."""
    valid = sorted({i.subset for i in items} | {t for i in items for t in i.tags}, key=str.casefold)
    known = {v.casefold() for v in valid}
    unknown = [w for w in wanted if w.casefold() not in known]
    if unknown:
        raise UserError(f"unknown subset {', '.join(map(repr, unknown))}; valid subsets: {', '.join(valid)}")
