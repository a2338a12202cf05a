"""LAB-Bench text tasks: choices are the ideal answer, the distractors and an "insufficient
information" option, shuffled per question by a seeded RNG. Choosing that option is a refusal;
the figures are accuracy, precision over answered questions, and coverage.

``--data`` is the LAB-Bench root (one folder per task) or a task folder or file. Multiple-choice
``*-public.jsonl`` files are used; FigQA and TableQA need images that are not distributed with the
text, and ``*-openanswer.jsonl`` files are open-ended variants, so both are reported as skipped.
Subsets are task names (``LitQA2``, ``SeqQA``, ...); the file stem is a tag (``ORF-seq-AAid-v1``).
An unparseable reply counts as answered and wrong, so it lowers precision rather than coverage.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from txscout.benchmarks.adapters.base import Adapter, malformed, mc_prompt, read_jsonl, require_path, seeded_order
from txscout.benchmarks.grading import LETTERS, extract_confidence, extract_letters, precision_coverage
from txscout.benchmarks.items import Grade, Item, LoadResult, Record, Skipped
from txscout.benchmarks.judge import Judge

REFUSAL = "Insufficient information to answer the question."
IMAGE_TASKS = ("FigQA", "TableQA")


def _distractors(value: Any) -> list[str] | None:
    """Distractors are a JSON list or, in the public files, a Python-literal string of one."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    return None


def _task(file: Path) -> str:
    return file.parent.name


class LabBenchAdapter(Adapter):
    name = "labbench"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "the LAB-Bench folder (one folder per task) or a task .jsonl file")
        files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        items: list[Item] = []
        skipped: list[Skipped] = []
        used: list[Path] = []
        for file in files:
            if file.name.endswith("-openanswer.jsonl"):
                skipped.extend(
                    Skipped(source=f"{file}:{n}", reason="open-answer variant (not multiple choice)")
                    for n, _ in read_jsonl(file, [])
                )
                continue
            image_task = _task(file) in IMAGE_TASKS
            used.append(file)
            for lineno, row in read_jsonl(file, skipped):
                source = f"{file}:{lineno}"
                if image_task:
                    skipped.append(Skipped(source=source, reason=f"{_task(file)} needs images (not included)"))
                    continue
                item = self._item(file, source, row, seed, skipped)
                if item is not None:
                    items.append(item)
        return LoadResult(items=items, skipped=skipped, files=used)

    def _item(self, file: Path, source: str, row: dict[str, Any], seed: int, skipped: list[Skipped]) -> Item | None:
        question = str(row.get("question") or "").strip()
        ideal = str(row.get("ideal") or "").strip()
        distractors = _distractors(row.get("distractors"))
        item_id = str(row.get("id") or "").strip()
        if not (question and ideal and distractors and item_id):
            skipped.append(malformed(source, "missing id, question, ideal or distractors"))
            return None
        options = [ideal, *distractors, REFUSAL]
        order = seeded_order(len(options), seed, item_id)
        choices = [options[i] for i in order]
        protocol = str(row.get("protocol") or "").strip()
        preamble = f"Protocol:\n{protocol}\n\n" if protocol else ""
        return Item(
            id=item_id,
            suite=self.name,
            prompt=mc_prompt(question, choices, preamble=preamble),
            answer_type="multiple_choice",
            choices=choices,
            gold=[LETTERS[order.index(0)]],
            subset=_task(file),
            tags=[file.stem.removesuffix("-public")],
            source=source,
            metadata={"refusal": LETTERS[order.index(len(options) - 1)], "question": question},
        )

    def grader_name(self, judge: Judge | None) -> str:
        return "letter-exact-set with refusal option"

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        letters = extract_letters(response, len(item.choices), item.choices)
        refused = letters == [item.metadata["refusal"]]
        correct = letters == item.gold
        return Grade(
            prediction=", ".join(letters) if letters else None,
            correct=correct,
            score=float(correct),
            refused=refused,
            confidence=extract_confidence(response),
            grader="letter-exact-set",
        )

    def metrics(self, records: Sequence[Record]) -> dict[str, Any]:
        precision, coverage = precision_coverage([r.correct for r in records], [r.refused for r in records])
        return {"precision": precision, "coverage": coverage, "refusals": sum(r.refused for r in records)}


def adapter(name: str) -> Adapter:
    return LabBenchAdapter()
