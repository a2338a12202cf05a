"""GPQA: the four answers are shuffled per question by a seeded RNG (no letters are stored), and the
model's letter is graded against where the correct answer landed."""

from __future__ import annotations

import csv
from pathlib import Path

from txscout.benchmarks.adapters.base import Adapter, grade_letters, malformed, mc_prompt, require_path, seeded_order
from txscout.benchmarks.grading import LETTERS
from txscout.benchmarks.items import Grade, Item, LoadResult, Skipped
from txscout.benchmarks.judge import Judge

REQUIRED = ("Question", "Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


class GPQAAdapter(Adapter):
    name = "gpqa"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "a GPQA CSV file such as gpqa_diamond.csv")
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        items: list[Item] = []
        skipped: list[Skipped] = []
        for file in files:
            with file.open(encoding="utf-8", newline="") as fh:
                reader = csv.DictReader(fh)
                missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
                if missing:
                    skipped.append(malformed(str(file), f"missing columns: {', '.join(missing)}"))
                    continue
                for row in reader:
                    source = f"{file}:{reader.line_num}"
                    texts = [(row.get(c) or "").strip() for c in REQUIRED]
                    if not all(texts):
                        skipped.append(malformed(source, "empty question or answer"))
                        continue
                    record_id = (row.get("Record ID") or "").strip() or f"{file.stem}-{reader.line_num}"
                    answers = texts[1:]
                    order = seeded_order(4, seed, record_id)
                    choices = [answers[i] for i in order]
                    gold = LETTERS[order.index(0)]
                    domain = (row.get("High-level domain") or "").strip() or "unknown"
                    subdomain = (row.get("Subdomain") or "").strip()
                    items.append(
                        Item(
                            id=record_id,
                            suite=self.name,
                            prompt=mc_prompt(texts[0], choices),
                            answer_type="multiple_choice",
                            choices=choices,
                            gold=[gold],
                            subset=domain,
                            tags=[subdomain] if subdomain else [],
                            source=source,
                            metadata={"subdomain": subdomain, "question": texts[0]},
                        )
                    )
        return LoadResult(items=items, skipped=skipped, files=files)

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        return grade_letters(item, response)


def adapter(name: str) -> Adapter:
    return GPQAAdapter()
