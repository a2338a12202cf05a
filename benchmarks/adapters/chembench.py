"""ChemBench: one JSON file per question, multiple choice (exact set of letters) or numeric (within 1%).

Subsets are the topic folders directly under ``data/``; ``mini`` selects ChemBench-Mini, the questions
flagged for either human-baseline subset. Question markup is rendered for a plain-text model:
``[START_SMILES]...[END_SMILES]`` becomes the bare SMILES, ``\\pu{7 days}`` and ``\\ce{H2O}`` their
contents.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from txscout.benchmarks.adapters.base import Adapter, grade_letters, malformed, mc_prompt, require_path
from txscout.benchmarks.grading import extract_confidence, numeric_match, parse_number
from txscout.benchmarks.items import Grade, Item, LoadResult, Skipped
from txscout.benchmarks.judge import Judge

_TAGGED = re.compile(r"\[START_(?P<tag>[A-Z]+)\](?P<body>.*?)\[END_(?P=tag)\]", re.DOTALL)
_MACRO = re.compile(r"\\(?:pu|ce)\{(?P<body>(?:[^{}]|\{[^{}]*\})*)\}")
NUMERIC_INSTRUCTION = "End with a line of the form 'Answer: <a single number, without units>'."


def render(text: str) -> str:
    """Strip ChemBench's machine markup so the model sees ordinary chemistry notation."""
    text = _TAGGED.sub(lambda m: m.group("body").strip(), text)
    previous = None
    while previous != text:
        previous = text
        text = _MACRO.sub(lambda m: m.group("body"), text)
    return text


def _topic(root: Path, file: Path) -> str:
    parts = file.relative_to(root).parts
    return parts[0] if len(parts) > 1 else root.name


def _target(example: dict[str, Any]) -> float | None:
    try:
        value = float(example["target"])
    except (TypeError, ValueError, KeyError):
        return None
    return value if math.isfinite(value) else None


class ChemBenchAdapter(Adapter):
    name = "chembench"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "the ChemBench data folder (chembench/data) or one question JSON file")
        if path.is_dir():
            root = path / "data" if (path / "data").is_dir() else path
            files = sorted(root.rglob("*.json"))
        else:
            root, files = path.parent, [path]
        items: list[Item] = []
        skipped: list[Skipped] = []
        for file in files:
            item = self._item(root, file, skipped)
            if item is not None:
                items.append(item)
        return LoadResult(items=items, skipped=skipped, files=files)

    def _item(self, root: Path, file: Path, skipped: list[Skipped]) -> Item | None:
        source = str(file)
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            skipped.append(malformed(source, f"invalid JSON: {exc}"))
            return None
        examples = data.get("examples") if isinstance(data, dict) else None
        if not isinstance(examples, list) or not examples or not isinstance(examples[0], dict):
            skipped.append(malformed(source, "no examples"))
            return None
        example = examples[0]
        question = render(str(example.get("input") or "")).strip()
        if not question:
            skipped.append(malformed(source, "empty input"))
            return None
        topic = _topic(root, file)
        mini = bool(data.get("in_humansubset_w_tool") or data.get("in_humansubset_wo_tool"))
        keywords = [str(k) for k in data.get("keywords") or []]
        base = {
            "id": file.relative_to(root).with_suffix("").as_posix(),
            "suite": self.name,
            "subset": topic,
            "tags": ["mini"] if mini else [],
            "source": source,
        }
        meta = {"name": data.get("name"), "uuid": data.get("uuid"), "keywords": keywords, "mini": mini}
        scores = example.get("target_scores")
        if isinstance(scores, dict) and scores:
            choices = [render(str(k)) for k in scores]
            try:
                # Options with full credit form the answer set; the rare 0.5 partial-credit options do not.
                gold = [chr(65 + i) for i, v in enumerate(scores.values()) if float(v) >= 1.0]
            except (TypeError, ValueError):
                skipped.append(malformed(source, "non-numeric target_scores"))
                return None
            if not gold:
                skipped.append(malformed(source, "no option has full credit"))
                return None
            return Item(
                **base,
                prompt=mc_prompt(question, choices, multi=True),
                answer_type="multiple_choice",
                choices=choices,
                several=True,
                gold=gold,
                metadata={**meta, "n_correct": len(gold)},
            )
        target = _target(example)
        if target is None:
            skipped.append(malformed(source, "neither target_scores nor a numeric target"))
            return None
        return Item(
            **base,
            prompt=f"{question}\n\n{NUMERIC_INSTRUCTION}",
            answer_type="numeric",
            gold=target,
            metadata=meta,
        )

    def grader_name(self, judge: Judge | None) -> str:
        return "chembench (exact letter set; numeric within 1% of |target|)"

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        if item.answer_type == "multiple_choice":
            return grade_letters(item, response)
        value = parse_number(response)
        correct = numeric_match(value, float(item.gold))
        return Grade(
            prediction=None if value is None else repr(value),
            correct=correct,
            score=float(correct),
            confidence=extract_confidence(response),
            grader="numeric-1pct",
        )


def adapter(name: str) -> Adapter:
    return ChemBenchAdapter()
