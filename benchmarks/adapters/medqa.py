"""MedQA (USMLE): 4- or 5-option single-answer multiple choice, graded by letter.

The option count comes from each row, so the 4-option, 5-option and MedAgentsBench hard files all load
with the same adapter. Subsets are the exam steps in ``meta_info``.
"""

from __future__ import annotations

from pathlib import Path

from txscout.benchmarks.adapters.base import Adapter, grade_letters, malformed, mc_prompt, read_jsonl, require_path
from txscout.benchmarks.grading import LETTERS
from txscout.benchmarks.items import Grade, Item, LoadResult, Skipped
from txscout.benchmarks.judge import Judge


def medqa_items(file: Path, suite: str, skipped: list[Skipped]) -> list[Item]:
    items: list[Item] = []
    for lineno, row in read_jsonl(file, skipped):
        source = f"{file}:{lineno}"
        question = str(row.get("question") or "").strip()
        options = row.get("options")
        gold = str(row.get("answer_idx") or "").strip().upper()
        if not question or not isinstance(options, dict) or not options:
            skipped.append(malformed(source, "missing question or options"))
            continue
        letters = sorted(str(k).strip().upper() for k in options)
        if letters != list(LETTERS[: len(letters)]):
            skipped.append(malformed(source, f"option keys are not consecutive letters: {letters}"))
            continue
        if gold not in letters:
            skipped.append(malformed(source, f"answer_idx {gold!r} is not one of the options"))
            continue
        by_letter = {str(k).strip().upper(): str(v) for k, v in options.items()}
        choices = [by_letter[letter] for letter in letters]
        key = row.get("realidx")
        items.append(
            Item(
                id=f"{file.stem}-{key if key is not None else lineno}",
                suite=suite,
                prompt=mc_prompt(question, choices),
                answer_type="multiple_choice",
                choices=choices,
                gold=[gold],
                subset=str(row.get("meta_info") or "unknown"),
                tags=[file.stem, f"{len(choices)}-options"],
                source=source,
                metadata={"question": question, "answer": str(row.get("answer") or "")},
            )
        )
    return items


class MedQAAdapter(Adapter):
    name = "medqa"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "a MedQA .jsonl file such as medqa_us_4options_test.jsonl")
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        skipped: list[Skipped] = []
        items = [item for file in files for item in medqa_items(file, self.name, skipped)]
        return LoadResult(items=items, skipped=skipped, files=files)

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        return grade_letters(item, response)


def adapter(name: str) -> Adapter:
    return MedQAAdapter()
