"""Each adapter on a small self-written fixture in its suite's format: parsing, skips with file and
line, subsets, and grading as the official grader does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scripted import script
from txscout.benchmarks.adapters import get_adapter, suite_names
from txscout.benchmarks.adapters.base import check_subsets
from txscout.benchmarks.adapters.chembench import render
from txscout.benchmarks.adapters.hle import count_choices
from txscout.benchmarks.adapters.oncology import is_oncology
from txscout.benchmarks.adapters.pubmedqa import extract_label
from txscout.benchmarks.items import Item, Record
from txscout.benchmarks.judge import Judge, JudgeUnavailable
from txscout.core.errors import UserError
from txscout.core.settings import load_settings

FIX = Path(__file__).parent / "fixtures" / "bench"


def by_id(items: list[Item]) -> dict[str, Item]:
    return {i.id: i for i in items}


def record_for(item: Item, **fields: object) -> Record:
    base = {
        "item_id": item.id,
        "suite": item.suite,
        "subset": item.subset,
        "answer_type": item.answer_type,
        "prediction": None,
        "gold": item.gold,
        "correct": False,
        "score": 0.0,
        "grader": "test",
    }
    return Record.model_validate({**base, **fields})


def test_unknown_suite_lists_valid_choices() -> None:
    with pytest.raises(UserError, match="valid suites: gpqa, hle, chembench"):
        get_adapter("gqpa")
    assert "labbench" in suite_names()


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="data path not found"):
        get_adapter("medqa").load(tmp_path / "nope.jsonl")


# GPQA


def test_gpqa_shuffles_per_question_reproducibly() -> None:
    adapter = get_adapter("gpqa")
    first = by_id(adapter.load(FIX / "gpqa.csv", seed=1).items)
    again = by_id(adapter.load(FIX / "gpqa.csv", seed=1).items)
    other = by_id(adapter.load(FIX / "gpqa.csv", seed=2).items)
    assert first["recA1"].choices == again["recA1"].choices
    assert any(first[k].choices != other[k].choices for k in first)
    for item in first.values():
        gold = item.gold[0]
        assert item.choices["ABCD".index(gold)] in {"Hydrogen", "Newton", "Mitochondrion", "sp3"}


def test_gpqa_subsets_skips_and_multiline_question() -> None:
    loaded = get_adapter("gpqa").load(FIX / "gpqa.csv")
    items = by_id(loaded.items)
    assert set(items) == {"recA1", "recP1", "recB1", "recA2"}
    assert items["recA2"].subset == "Chemistry" and items["recA2"].in_subset("organic chemistry")
    assert "Newton's second law" in items["recP1"].prompt
    assert [s.source for s in loaded.skipped] == [f"{FIX / 'gpqa.csv'}:6"]
    assert loaded.skipped[0].malformed
    with pytest.raises(UserError, match="valid subsets: Biology, Cell Biology, Chemistry"):
        check_subsets(loaded.items, ["Astronomy"])


def test_gpqa_grading_reads_odd_letter_formats() -> None:
    adapter = get_adapter("gpqa")
    item = by_id(adapter.load(FIX / "gpqa.csv").items)["recB1"]
    gold = item.gold[0]
    assert adapter.grade(item, f"**Answer:** ({gold.lower()})", None).correct
    assert adapter.grade(item, f"The answer is {gold}.", None).correct
    wrong = "A" if gold != "A" else "B"
    assert not adapter.grade(item, f"Answer: {wrong}", None).correct
    assert not adapter.grade(item, f"Answer: {gold}, {wrong}", None).correct


# HLE


def test_hle_text_only_filter_and_derived_rows() -> None:
    loaded = get_adapter("hle").load(FIX / "hle" / "hle.jsonl")
    items = by_id(loaded.items)
    assert set(items) == {"h1", "h2", "h4", "h7"}
    assert items["h1"].answer_type == "multiple_choice" and items["h1"].choices == ["A", "B", "C"]
    assert items["h4"].subset == "uncategorized"  # derived rows carry no category
    reasons = {s.source.rsplit(":", 1)[1]: s for s in loaded.skipped}
    assert not reasons["3"].malformed and "image" in reasons["3"].reason
    assert reasons["5"].malformed and "invalid JSON" in reasons["5"].reason
    assert reasons["6"].malformed and "freeForm" in reasons["6"].reason
    assert "Confidence:" in items["h2"].prompt


def test_hle_parquet_rows(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        json.loads(line) for line in (FIX / "hle" / "hle.jsonl").read_text().splitlines() if line.count('"') % 2 == 0
    ]
    rows = [r for r in rows if r.get("answer_type") in ("multipleChoice", "exactMatch")]
    columns = {
        k: [str(r.get(k, "")) for r in rows] for k in ("id", "question", "image", "answer", "answer_type", "category")
    }
    pq.write_table(pa.table(columns), tmp_path / "hle.parquet")
    loaded = get_adapter("hle").load(tmp_path / "hle.parquet")
    assert {i.id for i in loaded.items} == {"h1", "h2", "h4", "h7"}
    assert loaded.skipped[0].source.endswith("row 3")


def test_hle_category_subset() -> None:
    items = get_adapter("hle").load(FIX / "hle" / "hle.jsonl").items
    assert [i.id for i in items if i.in_subset("biology/medicine")] == ["h7"]


def test_hle_exact_match_without_judge() -> None:
    adapter = get_adapter("hle")
    items = by_id(adapter.load(FIX / "hle" / "hle.jsonl").items)
    grade = adapter.grade(items["h2"], "Explanation: sodium and chlorine.\nAnswer: **nacl.**\nConfidence: 90%", None)
    assert grade.correct and grade.confidence == pytest.approx(0.9)
    assert grade.grader == "exact-match (no judge)"
    assert not adapter.grade(items["h2"], "Answer: sodium chloride", None).correct
    assert adapter.grade(items["h1"], "Explanation: six protons.\nAnswer: B\nConfidence: 70%", None).correct
    assert count_choices("Q?\nAnswer Choices:\nA. x\nB. y\nC. z\nD. w") == 4


def test_hle_with_judge_uses_structured_verdict() -> None:
    adapter = get_adapter("hle")
    item = by_id(adapter.load(FIX / "hle" / "hle.jsonl").items)["h2"]
    verdict = {
        "extracted_final_answer": "sodium chloride",
        "reasoning": "same compound",
        "correct": "yes",
        "confidence": 65,
    }
    judge = Judge(script("not json at all", json.dumps(verdict)), "scripted-judge")
    grade = adapter.grade(item, "Answer: sodium chloride\nConfidence: 65%", judge)
    assert grade.correct and grade.prediction == "sodium chloride"
    assert grade.confidence == pytest.approx(0.65)
    assert grade.grader == "judge:scripted-judge"
    assert adapter.grader_name(judge) != adapter.grader_name(None)


def test_unusable_judge_reply_grades_wrong_with_reason() -> None:
    adapter = get_adapter("hle")
    item = by_id(adapter.load(FIX / "hle" / "hle.jsonl").items)["h2"]
    grade = adapter.grade(item, "Answer: NaCl", Judge(script("nope", "still nope"), "j"))
    assert not grade.correct and "unusable" in grade.detail


def test_judge_unavailable_is_reported_not_replaced() -> None:
    with pytest.raises(JudgeUnavailable, match="judge model 'nosuch:model' is unavailable"):
        Judge.load("nosuch:model", load_settings())
    with pytest.raises(JudgeUnavailable, match="unavailable: model file not found"):
        Judge.load("local:/no/such/judge.gguf", load_settings())


def test_judge_failing_mid_run_raises() -> None:
    class Broken:
        def with_structured_output(self, schema: object) -> object:
            raise NotImplementedError

        def invoke(self, prompt: str) -> object:
            raise ConnectionError("connection refused")

    adapter = get_adapter("hle")
    item = by_id(adapter.load(FIX / "hle" / "hle.jsonl").items)["h2"]
    with pytest.raises(JudgeUnavailable, match="connection refused"):
        adapter.grade(item, "Answer: NaCl", Judge(Broken(), "broken"))  # type: ignore[arg-type]


def test_hle_calibration_metric_treats_missing_confidence_as_certain() -> None:
    adapter = get_adapter("hle")
    items = adapter.load(FIX / "hle" / "hle.jsonl").items
    records = [record_for(items[0], correct=False), record_for(items[1], correct=True, confidence=1.0)]
    metrics = adapter.metrics(records)
    assert metrics["calibration_error_rms"] == pytest.approx(0.5)
    assert metrics["ci95_half_width_normal"] == pytest.approx(1.96 * 0.5 / 2**0.5)


# ChemBench


def test_chembench_items_subsets_and_skips() -> None:
    loaded = get_adapter("chembench").load(FIX / "chembench")
    items = by_id(loaded.items)
    assert set(items) == {"organic/multi", "organic/single", "physical/negative", "physical/zero"}
    assert {i.id for i in loaded.items if i.in_subset("mini")} == {"organic/multi", "physical/negative"}
    assert sorted(s.source.rsplit("/", 1)[1] for s in loaded.skipped) == ["broken.json", "notarget.json"]
    assert all(s.malformed for s in loaded.skipped)
    assert items["physical/negative"].gold == -285.8  # a string target in the file
    assert items["organic/multi"].gold == ["A", "C"]  # dict order gives the letters


def test_chembench_markup_rendered() -> None:
    items = by_id(get_adapter("chembench").load(FIX / "chembench").items)
    assert "Consider c1ccccc1." in items["organic/multi"].prompt
    assert "[START_SMILES]" not in items["organic/multi"].prompt
    assert "releases 285.8 kJ per mole" in items["physical/negative"].prompt
    assert "Which compound is CH4?" in items["organic/single"].prompt
    assert render(r"\pu{0.12 mg h^{-1} L^{-1}}") == "0.12 mg h^{-1} L^{-1}"


def test_chembench_multiple_correct_letters_need_the_exact_set() -> None:
    adapter = get_adapter("chembench")
    item = by_id(adapter.load(FIX / "chembench").items)["organic/multi"]
    assert adapter.grade(item, "Answer: A, C", None).correct
    assert adapter.grade(item, "Answer: C and A", None).correct
    assert not adapter.grade(item, "Answer: A", None).correct
    assert not adapter.grade(item, "Answer: A, B, C", None).correct


def test_chembench_numeric_negative_and_zero_targets() -> None:
    adapter = get_adapter("chembench")
    items = by_id(adapter.load(FIX / "chembench").items)
    assert adapter.grade(items["physical/negative"], "Answer: -285", None).correct
    assert not adapter.grade(items["physical/negative"], "Answer: 285.8", None).correct
    assert adapter.grade(items["physical/zero"], "Answer: 0", None).correct
    assert not adapter.grade(items["physical/zero"], "Answer: 0.001", None).correct
    assert not adapter.grade(items["physical/zero"], "I cannot say", None).correct


def test_closed_answer_sets_follow_the_question_format() -> None:
    chem = by_id(get_adapter("chembench").load(FIX / "chembench").items)
    multi = chem["organic/multi"].closed_answers()
    assert multi is not None and multi.several and multi.answers == list("ABCDE"[: len(chem["organic/multi"].choices)])
    assert chem["physical/negative"].closed_answers() is None  # numeric answers stay open
    medqa = by_id(get_adapter("medqa").load(FIX / "medqa.jsonl").items)
    five = medqa["medqa-6"].closed_answers()
    assert five is not None and five.answers == list("ABCDE") and not five.several
    label = get_adapter("pubmedqa").load(FIX / "pubmedqa").items[0].closed_answers()
    assert label is not None and label.answers == ["yes", "no", "maybe"]


def test_option_text_instead_of_letter_is_graded_as_that_option() -> None:
    adapter = get_adapter("medqa")
    item = by_id(adapter.load(FIX / "medqa.jsonl").items)["medqa-1"]
    assert adapter.grade(item, "Answer: PANCREATIC ADENOCARCINOMA", None).prediction == "B"
    assert adapter.grade(item, "Pancreatic adenocarcinoma.", None).correct
    assert adapter.grade(item, "Pancreatic cancer", None).prediction is None


# PubMedQA


def test_pubmedqa_official_split_and_reasoning_required_prompt() -> None:
    loaded = get_adapter("pubmedqa").load(FIX / "pubmedqa")
    assert loaded.default_subsets == ["test"]
    items = by_id(loaded.items)
    assert {i.id for i in loaded.items if i.subset == "test"} == {"101", "102", "103"}
    assert items["104"].subset == "other"
    assert "Methods: Aspirin was given" in items["101"].prompt
    assert "Aspirin reduced fever." not in items["101"].prompt  # never the long answer
    assert loaded.skipped[0].source.endswith("ori_pqal.json:105")


def test_pubmedqa_labels_and_macro_f1() -> None:
    adapter = get_adapter("pubmedqa")
    assert extract_label("Reasoning...\nAnswer: Maybe") == "maybe"
    assert extract_label("No.") == "no"
    assert extract_label("yes or no, hard to say") is None
    items = [i for i in adapter.load(FIX / "pubmedqa").items if i.subset == "test"]
    records = [
        record_for(i, prediction=adapter.grade(i, f"Answer: {p}", None).prediction)
        for i, p in zip(items, ["yes", "no", "yes"], strict=True)
    ]
    assert adapter.metrics(records)["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)


# MedQA and MMLU


def test_medqa_four_and_five_options() -> None:
    loaded = get_adapter("medqa").load(FIX / "medqa.jsonl")
    items = by_id(loaded.items)
    assert len(items) == 5
    assert len(items["medqa-6"].choices) == 5 and items["medqa-6"].in_subset("5-options")
    assert items["medqa-2"].gold == ["C"] and items["medqa-2"].subset == "step1"
    assert loaded.skipped[0].source == f"{FIX / 'medqa.jsonl'}:5"


def test_mmlu_five_shot_subjects_and_groups() -> None:
    loaded = get_adapter("mmlu").load(FIX / "mmlu")
    items = by_id(loaded.items)
    assert set(items) == {"anatomy_test-1", "anatomy_test-2", "college_chemistry_test-1"}
    prompt = items["anatomy_test-1"].prompt
    assert prompt.startswith("The following are multiple choice questions (with answers) about anatomy.")
    assert "Which bone is in the thigh?\nA. Femur" in prompt and "Answer: A\n\n" in prompt
    assert items["anatomy_test-1"].in_subset("medical") and items["college_chemistry_test-1"].in_subset("chemistry")
    assert sorted(s.source.rsplit(":", 1)[1] for s in loaded.skipped) == ["3", "4"]
    zero_shot = by_id(get_adapter("mmlu").load(FIX / "mmlu", shots=0).items)["anatomy_test-1"]
    assert zero_shot.prompt.startswith("Which nerve")


# Oncology


def test_oncology_multiple_choice_rule() -> None:
    assert is_oncology("Where does a Wilms tumor arise?", "Kidney")
    assert is_oncology("Which drug is an aromatase inhibitor?", "Letrozole")
    assert is_oncology("Painless jaundice; diagnosis?", "Pancreatic adenocarcinoma")  # via the gold answer
    assert not is_oncology("Bilateral hilar adenopathy; diagnosis?", "Sarcoidosis")  # lymphoma only a distractor
    assert not is_oncology("Which organ makes insulin?", "Pancreas")
    assert not is_oncology("A tumorous-looking word like tumoral?", "No")  # whole words only


def test_oncology_mc_subset_from_medqa_and_mmlu() -> None:
    adapter = get_adapter("oncology-mc")
    medqa = adapter.load(FIX / "medqa.jsonl")
    assert sorted(i.id for i in medqa.items) == ["medqa:medqa-1", "medqa:medqa-3"]
    assert medqa.notes == ["3 of 5 parsed questions are outside the oncology rule"]
    mmlu = adapter.load(FIX / "mmlu")
    assert [i.id for i in mmlu.items] == ["mmlu:anatomy_test-2"]
    assert mmlu.items[0].in_subset("anatomy") and mmlu.items[0].subset == "mmlu"


def vignette_judge(replies: list[str]) -> Judge:
    return Judge(script(*[json.dumps({"reasoning": "", "met": r}) for r in replies]), "rubric-judge")


def test_oncology_vignettes_format_and_skips() -> None:
    loaded = get_adapter("oncology").load(FIX / "vignettes.jsonl")
    assert [i.id for i in loaded.items] == ["bc-1", "bc-2"]
    assert "Outline first-line management." in loaded.items[1].prompt
    assert "management plan" in loaded.items[0].prompt  # the default task
    reasons = [s.reason for s in loaded.skipped]
    assert any("axis" in r for r in reasons) and any("rubric" in r for r in reasons)


def test_oncology_vignette_graded_per_axis() -> None:
    adapter = get_adapter("oncology")
    first, second = adapter.load(FIX / "vignettes.jsonl").items
    grade = adapter.grade(first, "Summary and plan ...", vignette_judge(["yes", "yes", "no", "yes"]))
    assert grade.axes == {"summary": 1.0, "surgery": 1.0, "hormonal_therapy": 0.0, "safety": 1.0}
    assert grade.score == pytest.approx(0.75) and not grade.correct
    full = adapter.grade(second, "Plan ...", vignette_judge(["yes", "yes"]))
    assert full.correct
    records = [record_for(first, score=grade.score, axes=grade.axes), record_for(second, score=1.0, axes=full.axes)]
    metrics = adapter.metrics(records)
    assert metrics["per_axis"]["hormonal_therapy"] == pytest.approx(0.5)
    assert metrics["mean_score"] == pytest.approx(0.875)


def test_oncology_vignettes_need_a_judge() -> None:
    adapter = get_adapter("oncology")
    item = adapter.load(FIX / "vignettes.jsonl").items[0]
    with pytest.raises(UserError, match="--judge"):
        adapter.grade(item, "plan", None)


# LAB-Bench


def test_labbench_text_tasks_refusal_option_and_skips() -> None:
    loaded = get_adapter("labbench").load(FIX / "labbench", seed=3)
    items = by_id(loaded.items)
    assert set(items) == {"lit-1", "lit-2", "seq-1"}
    assert items["lit-1"].subset == "LitQA2" and items["seq-1"].in_subset("GC-v1")
    assert len(items["lit-1"].choices) == 5  # ideal, three distractors (string list), refusal
    assert len(items["lit-2"].choices) == 4  # ideal, two distractors (JSON list), refusal
    assert "Insufficient information to answer the question." in items["lit-1"].choices
    reasons = sorted(s.reason for s in loaded.skipped)
    assert reasons == [
        "FigQA needs images (not included)",
        "missing id, question, ideal or distractors",
        "open-answer variant (not multiple choice)",
    ]


def test_labbench_refusals_precision_and_coverage() -> None:
    adapter = get_adapter("labbench")
    items = adapter.load(FIX / "labbench").items
    grades = []
    for item, kind in zip(items, ["right", "refuse", "wrong"], strict=True):
        gold, refusal = item.gold[0], item.metadata["refusal"]
        wrong = next(letter for letter in "ABCDE"[: len(item.choices)] if letter not in (gold, refusal))
        letter = {"right": gold, "refuse": refusal, "wrong": wrong}[kind]
        grades.append(adapter.grade(item, f"Answer: {letter}", None))
    assert [g.correct for g in grades] == [True, False, False]
    assert [g.refused for g in grades] == [False, True, False]
    records = [record_for(i, correct=g.correct, refused=g.refused) for i, g in zip(items, grades, strict=True)]
    metrics = adapter.metrics(records)
    assert metrics["precision"] == pytest.approx(0.5) and metrics["coverage"] == pytest.approx(2 / 3)
    assert metrics["refusals"] == 1


def test_mmlu_dev_split_is_never_primed_with_itself() -> None:
    items = get_adapter("mmlu").load(FIX / "mmlu" / "dev").items
    assert [i.id for i in items] == ["anatomy_dev-1", "anatomy_dev-2"]
    assert all(i.prompt.startswith(i.metadata["question"]) for i in items)


def test_judge_without_tool_calling_falls_back_to_a_json_prompt() -> None:
    from tests.bench_fakes import KeyedChatModel

    verdict = json.dumps({"reasoning": "clear", "met": "yes"})
    model = KeyedChatModel(answers={"criterion": f"Sure. {verdict}"})
    result = Judge(model, "plain").grade_rubric("case", "plan", "safety", "No harm.")
    assert result.met == "yes"
    assert "Reply with one JSON object only" in model.calls[0]
