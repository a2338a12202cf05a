"""Oncology: (a) AMIE-style breast-oncology vignettes graded per rubric axis by a judge model, and
(b) an oncology multiple-choice subset of MedQA and MMLU.

Vignette file format (JSONL, one case per line)::

    {"id": "bc-001",
     "vignette": "A 54-year-old woman presents with ...",
     "question": "optional; default asks for a case summary and a management plan",
     "subset": "optional grouping, e.g. early or metastatic",
     "rubric": [{"axis": "safety", "criterion": "Does not recommend ... during pregnancy"}, ...]}

``axis`` is one of ``AXES``: the quality of the case summary, the safety of the plan, and the
recommendations on chemotherapy, radiotherapy, surgery and hormonal therapy. The judge decides each
criterion met or not; a case's score is the share met, each axis's figure the share met on that axis,
and a case counts as correct only when every criterion is met.

Oncology multiple-choice rule (``ONCOLOGY_TERMS``): an item is included when its question stem or
its correct option matches one of the oncology terms as a whole word, case-insensitively. The stem and
gold answer (not the distractors) are used so that a non-oncology question listing "lymphoma" among
its wrong options is not pulled in. ``--data`` is a MedQA .jsonl, an MMLU folder or CSV, or a folder
holding ``medqa/`` and ``mmlu/`` (then the 4-option MedQA test file and the MMLU test split are used).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from txscout.benchmarks.adapters.base import Adapter, grade_letters, read_jsonl, require_path
from txscout.benchmarks.adapters.medqa import medqa_items
from txscout.benchmarks.adapters.mmlu import mmlu_items, subject_files
from txscout.benchmarks.items import Grade, Item, LoadResult, Record, Skipped
from txscout.benchmarks.judge import Judge
from txscout.core.errors import UserError

Axis = Literal["summary", "safety", "chemotherapy", "radiotherapy", "surgery", "hormonal_therapy"]
AXES: tuple[str, ...] = ("summary", "safety", "chemotherapy", "radiotherapy", "surgery", "hormonal_therapy")
DEFAULT_TASK = (
    "Summarise this breast-oncology case, then recommend a management plan covering surgery, "
    "chemotherapy, radiotherapy and hormonal therapy, with the safety considerations that apply."
)

ONCOLOGY_TERMS = (
    r"cancers?",
    r"carcinomas?",
    r"adenocarcinomas?",
    r"tumou?rs?",
    r"neoplasms?",
    r"neoplastic",
    r"neoplasia",
    r"malignan(?:t|cy|cies)",
    r"oncolog(?:y|ic|ist)",
    r"oncogenes?",
    r"metasta(?:sis|ses|tic|size[sd]?)",
    r"lymphomas?",
    r"leuka?emias?",
    r"myelomas?",
    r"melanomas?",
    r"sarcomas?",
    r"blastomas?",
    r"gliomas?",
    r"glioblastomas?",
    r"mesotheliomas?",
    r"seminomas?",
    r"chemotherap(?:y|ies|eutic)",
    r"radiotherapy",
    r"radiation therapy",
    r"mastectomy",
    r"lumpectomy",
    r"tamoxifen",
    r"aromatase inhibitors?",
    r"BRCA[12]?",
    r"HER2",
)
_ONCOLOGY = re.compile(r"\b(?:" + "|".join(ONCOLOGY_TERMS) + r")\b", re.IGNORECASE)


def is_oncology(question: str, answer: str) -> bool:
    """The documented selection rule for the oncology multiple-choice subset."""
    return bool(_ONCOLOGY.search(question) or _ONCOLOGY.search(answer))


class RubricItem(BaseModel):
    axis: Axis
    criterion: str = Field(min_length=1)


class Vignette(BaseModel):
    id: str = Field(min_length=1)
    vignette: str = Field(min_length=1)
    question: str = DEFAULT_TASK
    subset: str = "all"
    rubric: list[RubricItem] = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)


class VignetteAdapter(Adapter):
    name = "oncology"
    judge_use = "required"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "a JSONL file of oncology case vignettes")
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        items: list[Item] = []
        skipped: list[Skipped] = []
        for file in files:
            for lineno, row in read_jsonl(file, skipped):
                source = f"{file}:{lineno}"
                try:
                    case = Vignette.model_validate(row)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    where = ".".join(str(p) for p in first["loc"])
                    skipped.append(Skipped(source=source, reason=f"{where}: {first['msg']}", malformed=True))
                    continue
                items.append(
                    Item(
                        id=case.id,
                        suite=self.name,
                        prompt=f"Case:\n{case.vignette.strip()}\n\n{case.question.strip()}",
                        answer_type="rubric",
                        gold=[f"{r.axis}: {r.criterion}" for r in case.rubric],
                        subset=case.subset,
                        source=source,
                        metadata={"vignette": case.vignette, "rubric": [r.model_dump() for r in case.rubric]},
                    )
                )
        return LoadResult(items=items, skipped=skipped, files=files)

    def grader_name(self, judge: Judge | None) -> str:
        return f"rubric judge:{judge.label}" if judge else "rubric judge (none)"

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        if judge is None:
            raise UserError("the oncology vignette suite is graded by a judge model; pass --judge MODEL")
        met: dict[str, list[bool]] = {}
        notes: list[str] = []
        for entry in item.metadata["rubric"]:
            try:
                verdict = judge.grade_rubric(item.metadata["vignette"], response, entry["axis"], entry["criterion"])
                ok = verdict.met == "yes"
            except ValueError as exc:
                ok = False
                notes.append(f"{entry['axis']}: {exc}")
            met.setdefault(entry["axis"], []).append(ok)
        flat = [ok for oks in met.values() for ok in oks]
        score = sum(flat) / len(flat)
        return Grade(
            prediction=f"{sum(flat)}/{len(flat)} criteria met",
            correct=all(flat),
            score=score,
            axes={axis: sum(oks) / len(oks) for axis, oks in met.items()},
            grader=self.grader_name(judge),
            detail="; ".join(notes),
        )

    def metrics(self, records: Sequence[Record]) -> dict[str, Any]:
        per_axis: dict[str, float] = {}
        for axis in AXES:
            values = [r.axes[axis] for r in records if axis in r.axes]
            if values:
                per_axis[axis] = sum(values) / len(values)
        mean = sum(r.score for r in records) / len(records) if records else 0.0
        return {"mean_score": mean, "per_axis": per_axis}


class OncologyMCAdapter(Adapter):
    name = "oncology-mc"

    def load(self, path: Path, *, seed: int = 0, shots: int | None = None) -> LoadResult:
        path = require_path(path, "a MedQA .jsonl, an MMLU folder/CSV, or a folder with medqa/ and mmlu/")
        medqa_files: list[Path] = []
        mmlu_files: list[Path] = []
        if path.is_file():
            (medqa_files if path.suffix == ".jsonl" else mmlu_files).append(path)
        elif (path / "medqa").is_dir() or (path / "mmlu").is_dir():
            medqa_files = sorted((path / "medqa").glob("*4options_test.jsonl"))
            mmlu_files = subject_files(path / "mmlu") if (path / "mmlu").is_dir() else []
        elif any(path.glob("*.jsonl")):
            medqa_files = sorted(path.glob("*.jsonl"))
        else:
            mmlu_files = subject_files(path)
        if not medqa_files and not mmlu_files:
            raise UserError(f"no MedQA .jsonl or MMLU .csv files under {path}")
        skipped: list[Skipped] = []
        pool: list[tuple[str, Item]] = [("medqa", i) for f in medqa_files for i in medqa_items(f, self.name, skipped)]
        pool += [("mmlu", i) for f in mmlu_files for i in mmlu_items(f, self.name, skipped, shots or 0)]
        items: list[Item] = []
        for source_name, item in pool:
            if not is_oncology(item.metadata["question"], item.metadata["answer"]):
                continue
            items.append(
                item.model_copy(
                    update={
                        "subset": source_name,
                        "tags": [*item.tags, item.subset],
                        "id": f"{source_name}:{item.id}",
                    }
                )
            )
        note = f"{len(pool) - len(items)} of {len(pool)} parsed questions are outside the oncology rule"
        return LoadResult(items=items, skipped=skipped, files=medqa_files + mmlu_files, notes=[note])

    def grade(self, item: Item, response: str, judge: Judge | None) -> Grade:
        return grade_letters(item, response)


def adapter(name: str) -> Adapter:
    return VignetteAdapter() if name == "oncology" else OncologyMCAdapter()
