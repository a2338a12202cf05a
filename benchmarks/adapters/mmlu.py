"""MMLU medical and chemistry subjects: headerless CSV (question, A-D, letter), 5-shot from dev.

``--data`` may be the MMLU root (``dev/``, ``test/``), a split folder, or one subject CSV. Subsets are
subject names; ``medical`` (the MultiMedQA clinical six) and ``chemistry`` select groups.
"""

from __future__ import annotations

import csv
from pathlib import Path

from txscout.benchmarks.adapters.base import Adapter, grade_letters, malformed, mc_prompt, require_path
from txscout.benchmarks.grading import LETTERS
from txscout.benchmarks.items import Grade, Item, LoadResult, Skipped
from txscout.benchmarks.judge import Judge

MEDICAL = (
    "anatomy",
    "clinical_knowledge",
    "college_biology",
    "college_medicine",
    "medical_genetics",
    "professional_medicine",
)
CHEMISTRY = ("college_chemistry", "high_school_chemistry")
SPLITS = ("test", "val", "dev")
DEFAULT_SHOTS = 5


def subject_of(file: Path) -> str:
    stem = file.stem
    for split in SPLITS:
        if stem.endswith(f"_{split}"):
            return stem[: -len(split) - 1]
    return stem


def read_rows(file: Path, skipped: list[Skipped]) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    with file.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        for row in reader:
            source = f"{file}:{reader.line_num}"
            if len(row) != 6 or not row[0].strip():
                skipped.append(malformed(source, f"expected 6 columns (question, A-D, answer), got {len(row)}"))
                continue
            if row[5].strip().upper() not in LETTERS[:4]:
                skipped.append(malformed(source, f"answer {row[5]!r} is not A-D"))
                continue
            rows.append((reader.line_num, row))
    return rows


def _shot(row: list[str]) -> str:
    options = "\n".join(f"{LETTERS[i]}. {row[i + 1]}" for i in range(4))
    return f"{row[0].strip()}\n{options}\nAnswer: {row[5].strip().upper()}\n\n"


def mmlu_items(file: Path, suite: str, skipped: list[Skipped], shots: int = 0) -> list[Item]:
    subject = subject_of(file)
    preamble = ""
    dev = file.parent.parent / "dev" / f"{subject}_dev.csv"
    if shots and dev.exists() and dev.resolve() != file.resolve():  # never prime with the question itself
        examples = [row for _, row in read_rows(dev, [])][:shots]
        topic = subject.replace("_", " ")
        header = f"The following are multiple choice questions (with answers) about {topic}."
        preamble = header + "\n\n" + "".join(_shot(row) for row in examples)
    groups = [g for g, members in (("medical", MEDICAL), ("chemistry", CHEMISTRY)) if subject in members]
    items = []
    for lineno, row in read_rows(file, skipped):
        choices = [c.strip() for c in row[1:5]]
        items.append(
            Item(
                id=f"{file.stem}-{lineno}",
                suite=suite,
                prompt=mc_prompt(row[0], choices, preamble=preamble),
                answer_type="multiple_choice",
                choices=choices,
                gold=[row[5].strip().upper()],
                subset=subject,
                tags=groups,
                source=f"{file}:{lineno}",
                metadata={
                    "question": row[0].strip(),
                    "answer": choices[LETTERS.index(row[5].strip().upper())],
                },
            )
        )
    return items


def subject_files(path: Path, split: str = "test") -> list[Path]:
    """The subject CSVs a ``--data`` path stands for (root folder, split folder or single file)."""
    if path.is_file():
        return [path]
    if (path / split).is_dir():
        path = path / split
    return sorted(path.glob("*.csv"))


class MMLUAdapter(Adapter):
    name = "mmlu"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "the MMLU folder (with dev/ and test/) or a subject CSV")
        files = subject_files(path)
        n_shots = DEFAULT_SHOTS if shots is None else shots
        skipped: list[Skipped] = []
        items = [item for file in files for item in mmlu_items(file, self.name, skipped, n_shots)]
        dev_files = sorted({f.parent.parent / "dev" / f"{subject_of(f)}_dev.csv" for f in files} - set(files))
        return LoadResult(items=items, skipped=skipped, files=files + [d for d in dev_files if d.exists()])

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        return grade_letters(item, response)


def adapter(name: str) -> Adapter:
    return MMLUAdapter()
