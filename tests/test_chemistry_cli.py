"""The chemistry tools through ``txscout tools list`` and ``txscout tools call``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from txscout.cli import app

CHEMISTRY = [
    "identify_molecule",
    "molecule_properties",
    "structural_alerts",
    "similarity_search",
    "substructure_search",
    "functional_groups",
    "predict_admet",
    "compare_molecules",
    "safety_check",
]


def test_tools_list_shows_every_chemistry_tool() -> None:
    result = CliRunner().invoke(app, ["tools", "list", "--json"])
    assert result.exit_code == 0, result.output
    names = {t["name"] for t in json.loads(result.stdout)}
    assert set(CHEMISTRY) <= names


@pytest.mark.parametrize(
    ("tool", "args", "check"),
    [
        ("identify_molecule", {"molecule": "aspirin"}, lambda a: a["formula"] == "C9H8O4"),
        ("molecule_properties", {"molecule": "cyclosporine"}, lambda a: not a["rules"][0]["passed"]),
        ("structural_alerts", {"molecule": "Oc1ccccc1O"}, lambda a: a["counts"]["PAINS"] == 1),
        ("similarity_search", {"molecules": ["aspirin"], "top_k": 1}, lambda a: a["neighbours"]),
        ("substructure_search", {"smarts": "O=C1CCN1", "max_results": 2}, lambda a: a["total_hits"] > 2),
        ("functional_groups", {"molecule": "aspirin"}, lambda a: a["groups"]),
        ("compare_molecules", {"molecules": ["aspirin", "caffeine"], "property": "tpsa"}, lambda a: a["highest"]),
        ("safety_check", {"molecule": "VX"}, lambda a: a["flagged"]),
    ],
)
def test_tools_call_json(tool: str, args: dict, check) -> None:
    result = CliRunner().invoke(app, ["tools", "call", tool, json.dumps(args), "--json", "--offline"])
    assert result.exit_code == 0, result.output
    assert check(json.loads(result.stdout))


def test_tools_call_bad_smiles_is_a_clean_error() -> None:
    result = CliRunner().invoke(app, ["tools", "call", "identify_molecule", '{"molecule": "C1CC"}', "--offline"])
    assert result.exit_code != 0
    assert "invalid SMILES" in result.output
    assert "Traceback" not in result.output
