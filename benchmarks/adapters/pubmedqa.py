"""PubMedQA, reasoning-required setting: question plus abstract contexts (never the long answer),
answered yes/no/maybe; accuracy and macro-F1 on the official 500-item test split.

Setting ``open-book`` asks the question alone: all 1,000 abstracts are stored in an evidence store of
their own (``benchmarks.open_book``) for the agent to find, and each record says whether the answer
cited the item's own abstract (``Item.metadata["gold_pmid"]``).

``--data`` is the folder with ``ori_pqal.json`` and ``test_ground_truth.json`` (or ``ori_pqal.json``
itself, with the split file beside it). Subset ``test`` (the default) is the official split, ``other``
the remaining labelled items.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from txscout.benchmarks import grading
from txscout.benchmarks.adapters.base import Adapter, malformed, require_path
from txscout.benchmarks.grading import extract_confidence, macro_f1
from txscout.benchmarks.items import Grade, Item, LoadResult, Record, Skipped
from txscout.benchmarks.judge import Judge
from txscout.core.errors import UserError
from txscout.core.evidence import Evidence

LABELS = ("yes", "no", "maybe")
INSTRUCTION = "End with a line of the form 'Answer: <yes, no or maybe>'."


def extract_label(response: str) -> str | None:
    """The label after the last answer marker, else the last one the reply states (``grading.extract_label``)."""
    return grading.extract_label(response, LABELS)


def _year(item: Item) -> int | None:
    year = str(item.metadata.get("year") or "")
    return int(year) if year.isdigit() else None


def _contexts(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


class PubMedQAAdapter(Adapter):
    name = "pubmedqa"
    settings_offered = ("context", "open-book")

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "the PubMedQA folder with ori_pqal.json and test_ground_truth.json")
        data_file = path / "ori_pqal.json" if path.is_dir() else path
        split_file = data_file.parent / "test_ground_truth.json"
        for needed in (data_file, split_file):
            if not needed.exists():
                raise UserError(f"PubMedQA file not found: {needed}")
        try:
            data = json.loads(data_file.read_text(encoding="utf-8"))
            split = json.loads(split_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"PubMedQA file is not valid JSON: {exc}") from exc
        items: list[Item] = []
        skipped: list[Skipped] = []
        for pmid, row in data.items():
            source = f"{data_file}:{pmid}"
            contexts = _contexts(row.get("CONTEXTS")) if isinstance(row, dict) else None
            label = str(row.get("final_decision") or "").lower() if isinstance(row, dict) else ""
            question = str(row.get("QUESTION") or "").strip() if isinstance(row, dict) else ""
            if not question or contexts is None or label not in LABELS:
                skipped.append(malformed(source, "missing QUESTION, CONTEXTS or a yes/no/maybe final_decision"))
                continue
            in_test = pmid in split
            if in_test and str(split[pmid]).lower() != label:
                skipped.append(malformed(source, f"test split label {split[pmid]!r} disagrees with {label!r}"))
                continue
            labels = row.get("LABELS") if isinstance(row.get("LABELS"), list) else []
            context = "\n".join(
                f"{str(labels[i]).title()}: {text}" if i < len(labels) else text for i, text in enumerate(contexts)
            )
            open_book = self.setting == "open-book"
            shown = "" if open_book else f"Context:\n{context}\n\n"
            items.append(
                Item(
                    id=str(pmid),
                    suite=self.name,
                    prompt=f"{shown}Question: {question}\n\n{INSTRUCTION}",
                    answer_type="label",
                    choices=list(LABELS),
                    gold=label,
                    subset="test" if in_test else "other",
                    source=source,
                    metadata={"year": row.get("YEAR"), "question": question}
                    | ({"gold_pmid": str(pmid), "abstract": context} if open_book else {}),
                )
            )
        return LoadResult(items=items, skipped=skipped, files=[data_file, split_file], default_subsets=["test"])

    def documents(self, loaded: LoadResult) -> list[Evidence]:
        """Every item's abstract (test split or not), in the open-book setting: the corpus the questions are
        answered from. No title is stored, since a PubMedQA question is often its article's title."""
        if self.setting != "open-book":
            return []
        return [
            Evidence(text=item.metadata["abstract"], source_kind="pubmed", pmid=item.id, year=_year(item))
            for item in loaded.items
        ]

    def grader_name(self, judge: Judge | None) -> str:
        return "label-exact"

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        label = extract_label(response)
        correct = label == item.gold
        return Grade(
            prediction=label,
            correct=correct,
            score=float(correct),
            confidence=extract_confidence(response),
            grader="label-exact",
        )

    def metrics(self, records: Sequence[Record]) -> dict[str, Any]:
        gold = [str(r.gold) for r in records]
        predicted = [r.prediction for r in records]
        figures: dict[str, Any] = {"macro_f1": macro_f1(gold, predicted, LABELS)}
        cited = [r.gold_cited for r in records if r.gold_cited is not None]
        if cited:
            figures["gold_cited"] = sum(cited) / len(cited)
        return figures


def adapter(name: str) -> Adapter:
    return PubMedQAAdapter()
