"""Humanity's Last Exam, text-only.

The official protocol asks for an explanation, a final answer and a confidence, then has a judge model
extract the answer and decide if it matches. Without ``--judge`` the adapter falls back to a strict
normalised exact match and the summary names that grader, so the two are never confused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from txscout.benchmarks.adapters.base import Adapter, malformed, read_jsonl, require_path
from txscout.benchmarks.grading import (
    LETTERS,
    answer_segment,
    binned_calibration_error,
    extract_confidence,
    extract_letters,
    normalize_answer,
)
from txscout.benchmarks.items import Grade, Item, LoadResult, Record, Skipped
from txscout.benchmarks.judge import Judge
from txscout.core.errors import UserError

ANSWER_TYPES = ("multipleChoice", "exactMatch")
FORMAT = (
    "\n\nYour response should be in this format:\n"
    "Explanation: {your explanation for your final answer}\n"
    "Answer: {your final answer}\n"
    "Confidence: {your confidence score between 0% and 100% for your answer}"
)
_CHOICE_LINE = re.compile(r"^\s*([A-Z])[.)]\s+\S", re.MULTILINE)


def count_choices(question: str) -> int:
    """Options are written inside the question after "Answer Choices:"; count their letters."""
    _, sep, tail = question.partition("Answer Choices:")
    letters = _CHOICE_LINE.findall(tail if sep else question)
    return LETTERS.index(max(letters)) + 1 if letters else len(LETTERS)


def _rows(path: Path, skipped: list[Skipped]) -> list[tuple[str, dict[str, Any]]]:
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except pa.ArrowException as exc:
            raise UserError(f"{path} is not a readable parquet file: {exc}") from None
        return [(f"{path}:row {i + 1}", row) for i, row in enumerate(table.to_pylist())]
    return [(f"{path}:{lineno}", row) for lineno, row in read_jsonl(path, skipped)]


class HLEAdapter(Adapter):
    name = "hle"
    judge_use = "optional"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "an HLE .jsonl or .parquet file")
        files = sorted([*path.glob("*.jsonl"), *path.glob("*.parquet")]) if path.is_dir() else [path]
        items: list[Item] = []
        skipped: list[Skipped] = []
        for file in files:
            for source, row in _rows(file, skipped):
                item = self._item(source, row, skipped)
                if item is not None:
                    items.append(item)
        return LoadResult(items=items, skipped=skipped, files=files)

    def _item(self, source: str, row: dict[str, Any], skipped: list[Skipped]) -> Item | None:
        missing = [k for k in ("id", "question", "answer", "answer_type") if not str(row.get(k) or "").strip()]
        if missing:
            skipped.append(malformed(source, f"missing fields: {', '.join(missing)}"))
            return None
        answer_type = str(row["answer_type"])
        if answer_type not in ANSWER_TYPES:
            skipped.append(malformed(source, f"unknown answer_type {answer_type!r}"))
            return None
        if str(row.get("image") or "").strip():
            skipped.append(Skipped(source=source, reason="has an image (text-only run)"))
            return None
        question = str(row["question"])
        gold = str(row["answer"]).strip()
        n_choices = count_choices(question) if answer_type == "multipleChoice" else 0
        if answer_type == "multipleChoice" and gold.upper() not in LETTERS[:n_choices]:
            skipped.append(malformed(source, f"multipleChoice answer {gold!r} is not an option letter"))
            return None
        category = str(row.get("category") or "").strip() or "uncategorized"
        raw_subject = str(row.get("raw_subject") or "").strip()
        return Item(
            id=str(row["id"]),
            suite=self.name,
            prompt=question.strip() + FORMAT,
            answer_type="multiple_choice" if answer_type == "multipleChoice" else "exact_match",
            choices=list(LETTERS[:n_choices]),
            gold=[gold.upper()] if answer_type == "multipleChoice" else gold,
            subset=category,
            tags=[raw_subject] if raw_subject else [],
            source=source,
            metadata={"question": question, "answer_type": answer_type, "answer": gold},
        )

    def grader_name(self, judge: Judge | None) -> str:
        return f"judge:{judge.label}" if judge else "exact-match (no judge)"

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        stated = extract_confidence(response)
        if judge is not None:
            try:
                verdict = judge.grade_answer(item.metadata["question"], response, item.metadata["answer"])
            except ValueError as exc:
                return Grade(
                    prediction=None,
                    correct=False,
                    score=0.0,
                    confidence=stated,
                    grader=self.grader_name(judge),
                    detail=str(exc),
                )
            correct = verdict.correct == "yes"
            return Grade(
                prediction=verdict.extracted_final_answer,
                correct=correct,
                score=float(correct),
                confidence=min(max(verdict.confidence, 0.0), 100.0) / 100.0,
                grader=self.grader_name(judge),
                detail=verdict.reasoning,
            )
        if item.answer_type == "multiple_choice":
            letters = extract_letters(response, len(item.choices))
            prediction = ", ".join(letters) if letters else None
            correct = letters == item.gold
        else:
            segment = answer_segment(response)
            prediction = segment.splitlines()[0].strip() if segment else None
            correct = prediction is not None and normalize_answer(prediction) == normalize_answer(str(item.gold))
        return Grade(
            prediction=prediction,
            correct=correct,
            score=float(correct),
            confidence=stated,
            grader=self.grader_name(None),
        )

    def metrics(self, records: Sequence[Record]) -> dict[str, Any]:
        """RMS calibration error over bins of 100 (a missing confidence counts as 100%, as in HLE), and
        HLE's own normal-approximation interval half-width, for comparison with published numbers."""
        confidence = [r.confidence if r.confidence is not None else 1.0 for r in records]
        correct = [r.correct for r in records]
        n = len(records)
        accuracy = sum(correct) / n if n else 0.0
        return {
            "calibration_error_rms": binned_calibration_error(confidence, correct, beta=100),
            "ci95_half_width_normal": 1.96 * math.sqrt(accuracy * (1 - accuracy) / n) if n else 0.0,
        }


def adapter(name: str) -> Adapter:
    return HLEAdapter()
