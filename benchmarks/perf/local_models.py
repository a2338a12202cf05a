"""Chemistry property questions on named drugs: accuracy per kind, and in full mode how well confidence tracks it.

The question set is generated from the approved drugs in the DrugBank table shipped with admet-ai (the
agent's offline name table), ``--per-kind`` questions (default 10) of each kind in :data:`KINDS`, all
seeded. Expected answers are computed here, from RDKit and ADMET-AI called directly, never typed in:

=============  =====================================================  ==========================================
kind           question                                               expected answer (computed by)
=============  =====================================================  ==========================================
formula        molecular formula of X                                 ``rdMolDescriptors.CalcMolFormula``
weight         molecular weight of X                                  ``Descriptors.MolWt``
logp           logP of X                                              ``Crippen.MolLogP``
tpsa           topological polar surface area of X                    ``rdMolDescriptors.CalcTPSA``
donors         hydrogen bond donors of X                              ``CalcNumLipinskiHBD`` (Lipinski: NH + OH)
acceptors      hydrogen bond acceptors of X                           ``CalcNumLipinskiHBA`` (Lipinski: N + O)
rotatable      rotatable bonds of X                                   ``CalcNumRotatableBonds``
stereo         stereocentres of X                                     ``FindMolChiralCenters`` (unassigned too)
lipinski       does X pass the rule of five (half pass, half fail)    at most one of MW > 500, logP > 5,
                                                                      HBD > 5, HBA > 10
violations     how many rule-of-five violations (0, 1, 2+ mixed)      the same four criteria, counted
qed            QED of X                                               ``QED.qed``
admet          a predicted ADMET endpoint of X (hERG, AMES, DILI,     ``admet_ai`` through
               BBB, solubility, bioavailability in turn)              ``txscout.tools.chemistry.admet.predict``
compare        which of two has the higher/lower property             the same RDKit values; ties skipped
compare_mc     which of four options has the highest/lowest           the same; the option letter
two_properties molecular formula and molecular weight of X            both of the above
carbons        carbon atoms of X (no tool states it)                  carbon atoms of the RDKit molecule
=============  =====================================================  ==========================================

Grading rule (:func:`correct`): the graded text is the answer's last "Answer:" line when it has one,
else the whole answer, with citation markers ("[2]") removed. Numbers: the first number standing on
its own in it (not a digit inside a formula or a name), within
1% of the expected value (ChemBench's rule) or, for logP, QED and ADMET values, within 0.01 absolute;
counts must be equal. A formula must appear exactly (and, for two properties, some number in the
text must be the weight within 1%). Pass/fail: the first of "pass/passes/compliant/
yes" or "fail/fails/violates/no" decides. A comparison: the first of the compared drugs the text
names must be the expected one. Multiple choice: the letter, read by the benchmarks' grader.

In ``full`` mode each answer carries a confidence; the script reports the AUROC of confidence against
correctness and the expected calibration error (10 equal-width bins), from ``benchmarks.grading``.

    python benchmarks/perf/local_models.py --mode react   # results/local_models-react.json (+ .jsonl per question)
    python benchmarks/perf/local_models.py --mode full
    python benchmarks/perf/local_models.py --kinds weight compare_mc --per-kind 3 --out runs/quick.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rdkit import Chem
from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors
from rich.console import Console
from rich.table import Table

KINDS = (
    "formula",
    "weight",
    "logp",
    "tpsa",
    "donors",
    "acceptors",
    "rotatable",
    "stereo",
    "lipinski",
    "violations",
    "qed",
    "admet",
    "compare",
    "compare_mc",
    "two_properties",
    "carbons",
)
ONE_PROPERTY = KINDS[:-2]
"""The kinds that ask one property the tools compute (issue 13, item 6). ``two_properties`` asks two of
them; ``carbons`` asks one the tools do not state (the count is implicit in the formula), so its answer
is the model's own pick among the observed facts: the kind on which confidence has to say "unsure"."""
REL_TOL = 0.01
ABS_TOL = 0.01


class Question(BaseModel):
    kind: str
    q: str
    gold: str | float | int | bool
    names: list[str] = []
    """For comparisons, the compared drugs as the question names them."""


class Drug(BaseModel):
    name: str
    smiles: str

    @property
    def mol(self) -> Chem.Mol:
        return Chem.MolFromSmiles(self.smiles)


def drugs(seed: int) -> list[Drug]:
    """Approved drugs with a plain one-word name the agent links back to the same structure, shuffled."""
    from txscout.tools.chemistry import find_molecules
    from txscout.tools.chemistry.names import name_index

    out = []
    for entry in name_index().entries:
        if not re.fullmatch(r"[A-Z][a-z]{4,14}", entry.name) or "." in entry.smiles:
            continue
        mol = Chem.MolFromSmiles(entry.smiles)
        if mol is None or mol.GetNumHeavyAtoms() > 70:
            continue
        smiles = Chem.MolToSmiles(mol)
        linked = find_molecules(f"What about {entry.name}?")
        if len(linked) == 1 and linked[0].smiles == smiles:
            out.append(Drug(name=entry.name, smiles=smiles))
    random.Random(seed).shuffle(out)
    return out


def lipinski_violations(mol: Chem.Mol) -> int:
    return sum(
        (
            Descriptors.MolWt(mol) > 500,
            Crippen.MolLogP(mol) > 5,
            rdMolDescriptors.CalcNumLipinskiHBD(mol) > 5,
            rdMolDescriptors.CalcNumLipinskiHBA(mol) > 10,
        )
    )


def stereocentres(mol: Chem.Mol) -> int:
    return len(Chem.FindMolChiralCenters(mol, includeUnassigned=True, useLegacyImplementation=False))


DESCRIPTORS: dict[str, tuple[str, Callable[[Chem.Mol], float]]] = {
    "weight": ("What is the molecular weight of {}?", Descriptors.MolWt),
    "logp": ("What is the logP of {}?", Crippen.MolLogP),
    "tpsa": ("What is the topological polar surface area (TPSA) of {}?", rdMolDescriptors.CalcTPSA),
    "donors": ("How many hydrogen bond donors does {} have?", rdMolDescriptors.CalcNumLipinskiHBD),
    "acceptors": ("How many hydrogen bond acceptors does {} have?", rdMolDescriptors.CalcNumLipinskiHBA),
    "rotatable": ("How many rotatable bonds does {} have?", rdMolDescriptors.CalcNumRotatableBonds),
    "stereo": ("How many stereocentres does {} have?", stereocentres),
    "qed": ("What is the QED drug-likeness score of {}?", QED.qed),
}
COUNTS = {"donors", "acceptors", "rotatable", "stereo", "violations", "carbons"}
ABSOLUTE = {"logp", "qed", "admet"}

# (RDKit function, "which has ... , A or B?" higher / lower, "which ... has the ...?" highest / lowest)
COMPARED: tuple[tuple[Callable[[Chem.Mol], float], str, str, str, str], ...] = (
    (Crippen.MolLogP, "the higher logP", "the lower logP", "highest logP", "lowest logP"),
    (
        Descriptors.MolWt,
        "the higher molecular weight",
        "the lower molecular weight",
        "highest molecular weight",
        "lowest molecular weight",
    ),
    (rdMolDescriptors.CalcTPSA, "the larger TPSA", "the smaller TPSA", "largest TPSA", "smallest TPSA"),
    (
        rdMolDescriptors.CalcNumLipinskiHBD,
        "more hydrogen bond donors",
        "fewer hydrogen bond donors",
        "most hydrogen bond donors",
        "fewest hydrogen bond donors",
    ),
    (QED.qed, "the higher QED", "the lower QED", "highest QED", "lowest QED"),
)
# (ADMET-AI endpoint id, question wording)
ENDPOINTS = (
    ("hERG", "What is the predicted hERG blocking probability of {}?"),
    ("AMES", "What is the predicted Ames mutagenicity probability of {}?"),
    ("DILI", "What is the predicted probability of drug-induced liver injury (DILI) for {}?"),
    ("BBB_Martins", "What is the predicted blood-brain barrier penetration probability of {}?"),
    ("Solubility_AqSolDB", "What is the predicted aqueous solubility of {}?"),
    ("Bioavailability_Ma", "What is the predicted oral bioavailability of {}?"),
)


def questions(per_kind: int, seed: int, kinds: tuple[str, ...] = KINDS) -> list[Question]:
    """``per_kind`` questions of each kind, each on drugs no earlier kind used."""
    pool = iter(drugs(seed))
    rng = random.Random(seed)
    items: list[Question] = []
    for kind in kinds:
        items.extend(_kind(kind, per_kind, pool, rng))
    return items


def _kind(kind: str, n: int, pool: Iterator[Drug], rng: random.Random) -> list[Question]:
    if kind == "formula":
        return [
            Question(
                kind=kind, q=f"What is the molecular formula of {d.name}?", gold=rdMolDescriptors.CalcMolFormula(d.mol)
            )
            for d in _take(pool, n)
        ]
    if kind in DESCRIPTORS:
        wording, compute = DESCRIPTORS[kind]
        return [Question(kind=kind, q=wording.format(d.name), gold=compute(d.mol)) for d in _take(pool, n)]
    if kind == "lipinski":
        passing = _take(pool, n - n // 2, lambda d: lipinski_violations(d.mol) <= 1)
        failing = _take(pool, n // 2, lambda d: lipinski_violations(d.mol) >= 2)
        chosen = [*passing, *failing]
        rng.shuffle(chosen)
        return [
            Question(kind=kind, q=f"Does {d.name} pass Lipinski's rule of five?", gold=lipinski_violations(d.mol) <= 1)
            for d in chosen
        ]
    if kind == "violations":
        wanted = [min(i % 3, 2) for i in range(n)]
        chosen = [_take(pool, 1, lambda d, k=k: min(lipinski_violations(d.mol), 2) == k)[0] for k in wanted]
        return [
            Question(
                kind=kind,
                q=f"How many violations of Lipinski's rule of five does {d.name} have?",
                gold=lipinski_violations(d.mol),
            )
            for d in chosen
        ]
    if kind == "admet":
        from txscout.tools.chemistry import admet

        chosen = _take(pool, n)
        predicted = admet.predict([d.smiles for d in chosen])
        return [
            Question(kind=kind, q=wording.format(d.name), gold=float(predicted[d.smiles][endpoint]))
            for d, (endpoint, wording) in zip(chosen, (ENDPOINTS * n)[:n], strict=True)
        ]
    if kind == "two_properties":
        return [
            Question(
                kind=kind,
                q=f"What are the molecular formula and the molecular weight of {d.name}?",
                gold=f"{rdMolDescriptors.CalcMolFormula(d.mol)} {Descriptors.MolWt(d.mol)}",
            )
            for d in _take(pool, n)
        ]
    if kind == "carbons":
        return [
            Question(
                kind=kind,
                q=f"How many carbon atoms does {d.name} have?",
                gold=sum(a.GetSymbol() == "C" for a in d.mol.GetAtoms()),
            )
            for d in _take(pool, n)
        ]
    if kind in ("compare", "compare_mc"):
        return [_comparison(kind, i, pool) for i in range(n)]
    raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")


def _comparison(kind: str, i: int, pool: Iterator[Drug]) -> Question:
    """The i-th comparison: properties and directions in turn; drug sets whose values tie are skipped."""
    compute, higher, lower, highest_mc, lowest_mc = COMPARED[i % len(COMPARED)]
    highest = i % 2 == 0
    size = 2 if kind == "compare" else 4
    while True:
        chosen = _take(pool, size)
        values = [round(compute(d.mol), 2) for d in chosen]
        if len(set(values)) == size:
            break
    best = values.index(max(values) if highest else min(values))
    if kind == "compare":
        a, b = chosen
        return Question(
            kind=kind,
            q=f"Which has {higher if highest else lower}, {a.name} or {b.name}?",
            gold=chosen[best].name,
            names=[a.name, b.name],
        )
    options = "\n".join(f"{'ABCD'[k]}. {d.name}" for k, d in enumerate(chosen))
    return Question(
        kind=kind,
        q=f"Which of the following drugs has the {highest_mc if highest else lowest_mc}?\n{options}",
        gold="ABCD"[best],
        names=[d.name for d in chosen],
    )


def _take(pool: Iterator[Drug], n: int, keep: Callable[[Drug], bool] = lambda _d: True) -> list[Drug]:
    out: list[Drug] = []
    if n == 0:
        return out
    for drug in pool:
        if keep(drug):
            out.append(drug)
            if len(out) == n:
                return out
    raise RuntimeError("ran out of drugs for the question set; lower --per-kind")


_CITATION = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:\.\d+)?(?!\w|\.\d)")
"""A number standing on its own: the 13 in the formula C13H18O2 is not a count of anything said."""


def graded_text(answer: str) -> str:
    """The part of an answer that is graded: its last 'Answer:' line, else all of it, citations removed."""
    from txscout.agent.answers import answer_line

    return _CITATION.sub(" ", answer_line(answer) or answer)


def correct(item: Question, answer: str) -> bool:
    """Whether ``answer`` gives the expected answer, by the rule in the module docstring."""
    text = graded_text(answer)
    if item.kind == "formula":
        return _has_formula(text, str(item.gold))
    if item.kind == "two_properties":
        formula, weight = str(item.gold).split()
        numbers = [float(n.replace("−", "-")) for n in _NUMBER.findall(text)]
        return _has_formula(text, formula) and any(abs(n - float(weight)) <= REL_TOL * float(weight) for n in numbers)
    if item.kind == "lipinski":
        verdict = re.search(r"\b(pass(?:es)?|compliant|yes|fails?|violates|no)\b", text, re.IGNORECASE)
        passed = verdict is not None and verdict.group(1).lower() in ("pass", "passes", "compliant", "yes")
        return verdict is not None and passed == item.gold
    if item.kind == "compare":
        said = [
            (m.start(), n) for n in item.names for m in [re.search(rf"\b{re.escape(n)}\b", text, re.IGNORECASE)] if m
        ]
        return bool(said) and min(said)[1] == item.gold
    if item.kind == "compare_mc":
        from txscout.benchmarks.grading import extract_letters

        return extract_letters(text, 4) == [item.gold]
    number = _NUMBER.search(text)
    if number is None:
        return False
    value, gold = float(number.group().replace("−", "-")), float(item.gold)
    if item.kind in COUNTS:
        return value == gold
    tolerance = max(REL_TOL * abs(gold), ABS_TOL) if item.kind in ABSOLUTE else REL_TOL * abs(gold)
    return abs(value - gold) <= tolerance


def _has_formula(text: str, formula: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(formula)}(?![a-z0-9])", text) is not None


def evaluate(spec: str, mode: str, items: list[Question], log: Path | None) -> dict[str, Any]:
    from txscout.agent.api import Agent
    from txscout.benchmarks.grading import auroc, expected_calibration_error
    from txscout.core.settings import load_settings
    from txscout.tools.chemistry import chemistry_tools

    settings = load_settings(offline=True, mode=mode, max_steps=3)
    agent = Agent(model=spec, tools=chemistry_tools(settings), settings=settings, store=False)
    records = []
    started = time.perf_counter()
    for item in items:
        began = time.perf_counter()
        answer = agent.run(item.q)
        record = {
            **item.model_dump(),
            "answer": answer.text,
            "correct": correct(item, answer.text),
            "confidence": answer.confidence,
            "status": answer.status,
            "seconds": round(time.perf_counter() - began, 2),
        }
        records.append(record)
        if log is not None:
            with log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"model": spec, "mode": mode, **record}) + "\n")
    elapsed = time.perf_counter() - started
    per_kind: dict[str, list[bool]] = {}
    for record in records:
        per_kind.setdefault(record["kind"], []).append(record["correct"])
    flat = [r["correct"] for r in records]
    single = [r["correct"] for r in records if r["kind"] in ONE_PROPERTY]
    result: dict[str, Any] = {
        "mode": mode,
        "accuracy": sum(flat) / len(flat),
        "one_property": sum(single) / len(single) if single else 0.0,
        "per_kind": {k: sum(v) / len(v) for k, v in per_kind.items()},
        "seconds_per_question": elapsed / len(items),
        "n": len(flat),
    }
    scored = [(r["confidence"], r["correct"]) for r in records if r["confidence"] is not None]
    if scored:
        confidence, right = [c for c, _ in scored], [ok for _, ok in scored]
        result["auroc"] = auroc(confidence, right)
        result["ece"] = expected_calibration_error(confidence, right)
        result["with_confidence"] = len(scored)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=10)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("react", "full"), default="react")
    parser.add_argument("--models", nargs="+", default=["local:smollm2"])
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default: results/local_models-MODE.json)")
    args = parser.parse_args()
    items = questions(args.per_kind, args.seed, tuple(args.kinds))
    args.out = args.out or Path(__file__).with_name("results") / f"local_models-{args.mode}.json"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log = args.out.with_suffix(".jsonl")
    log.unlink(missing_ok=True)
    results = {spec: evaluate(spec, args.mode, items, log) for spec in args.models}
    kinds = [k for k in KINDS if k in args.kinds]
    table = Table("kind", *args.models, title=f"property questions, {args.mode} mode (n={len(items)})")
    for kind in kinds:
        table.add_row(kind, *(f"{r['per_kind'].get(kind, 0):.0%}" for r in results.values()))
    table.add_row("one property", *(f"{r['one_property']:.0%}" for r in results.values()))
    table.add_row("all", *(f"{r['accuracy']:.0%}" for r in results.values()))
    table.add_row("AUROC", *("-" if r.get("auroc") is None else f"{r['auroc']:.2f}" for r in results.values()))
    table.add_row("ECE", *("-" if r.get("ece") is None else f"{r['ece']:.3f}" for r in results.values()))
    table.add_row("s/question", *(f"{r['seconds_per_question']:.1f}" for r in results.values()))
    Console().print(table)
    args.out.write_text(json.dumps({"seed": args.seed, "per_kind": args.per_kind, "results": results}, indent=2))


if __name__ == "__main__":
    main()
