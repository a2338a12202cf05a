"""Chemistry tools on independently known values, bad input, and the LangChain tool interface."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import ToolMessage

from txscout.core.evidence import Evidence
from txscout.core.settings import Settings
from txscout.core.toolkit import ToolContext, tool_context
from txscout.tools.chemistry import chemistry_tools, find_molecules
from txscout.tools.chemistry.names import name_index

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


@pytest.fixture
def tools(tmp_path: Path) -> dict:
    settings = Settings(offline=True, cache_dir=tmp_path / "http")
    return {t.name: t for t in chemistry_tools(settings)}


def call(tools: dict, name: str, **args: object) -> ToolMessage:
    msg = tools[name].invoke({"name": name, "args": args, "id": "1", "type": "tool_call"})
    assert isinstance(msg, ToolMessage)
    return msg


def test_all_tools_present(tools: dict) -> None:
    assert {
        "identify_molecule",
        "molecule_properties",
        "structural_alerts",
        "similarity_search",
        "substructure_search",
        "functional_groups",
        "predict_admet",
        "safety_check",
        "compare_molecules",
    } <= set(tools)
    for tool in tools.values():
        schema = tool.tool_call_schema.model_json_schema()
        assert all(p.get("description") for p in schema["properties"].values()), tool.name


def test_aspirin_identity_matches_published_values(tools: dict) -> None:
    # C9H8O4: average mass 180.159 g/mol, monoisotopic 180.0423 Da; InChIKey from PubChem CID 2244.
    rec = call(tools, "identify_molecule", molecule="aspirin").artifact
    assert rec["formula"] == "C9H8O4"
    assert rec["average_mass"] == pytest.approx(180.159, abs=0.01)
    assert rec["exact_mass"] == pytest.approx(180.0423, abs=1e-4)
    assert rec["inchikey"] == "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"
    assert rec["smiles"] == ASPIRIN
    assert rec["drugbank_id"] == "DB00945"
    assert "Acetylsalicylic acid" in rec["known_names"]


@pytest.mark.parametrize(
    "query",
    [
        ASPIRIN,
        "OC(=O)c1ccccc1OC(C)=O",
        "InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)",
        "BSYNRYMUTXBXSQ-UHFFFAOYSA-N",
        "Acetylsalicylic acid",
        "ASPIRIN",
    ],
)
def test_every_input_form_resolves_to_the_same_structure(tools: dict, query: str) -> None:
    assert call(tools, "identify_molecule", molecule=query).artifact["smiles"] == ASPIRIN


@pytest.mark.parametrize(
    ("query", "parent", "smiles"),
    [
        ("metformin hydrochloride", "Metformin", "CN(C)C(=N)NC(=N)N"),
        ("imatinib mesylate", "Imatinib", None),
        ("sertraline HCl", "Sertraline", None),
        ("atorvastatin calcium", "Atorvastatin", None),
        ("naproxen sodium", "Naproxen", None),
        ("paracetamol", "Acetaminophen", "CC(=O)Nc1ccc(O)cc1"),
        ("ibuprofen", "Ibuprofen", "CC(C)Cc1ccc(C(C)C(=O)O)cc1"),
        ("caffeine", "Caffeine", "Cn1c(=O)c2c(ncn2C)n(C)c1=O"),
    ],
)
def test_names_and_salt_names_resolve_offline(tools: dict, query: str, parent: str, smiles: str | None) -> None:
    rec = call(tools, "identify_molecule", molecule=query).artifact
    assert parent in rec["known_names"]
    assert "." not in rec["smiles"]
    if smiles:
        assert rec["smiles"] == smiles


def test_salt_smiles_keeps_parent_and_says_so(tools: dict) -> None:
    rec = call(tools, "identify_molecule", molecule="CN(C)C(=N)NC(=N)N.Cl").artifact
    assert rec["smiles"] == "CN(C)C(=N)NC(=N)N"
    assert rec["formula"] == "C4H11N5"
    assert any("largest organic fragment" in n for n in rec["notes"])


def test_unknown_name_offline_suggests_close_spellings(tools: dict) -> None:
    msg = call(tools, "identify_molecule", molecule="ibuprofin")
    assert msg.status == "error"
    assert "Ibuprofen" in msg.content and "network is off" in msg.content


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("C" * 10_000, "10,000 characters"),
        ("C1CC", "invalid SMILES"),
        ("C(C", "invalid SMILES"),
        ("C[C](C)(C)(C)C", "invalid SMILES"),
        ("c1cccc1", "invalid SMILES"),
        ("not-a-molecule-xyz", "unknown name"),
        ("InChI=1S/garbage", "invalid InChI"),
    ],
)
def test_bad_input_is_a_clean_error(tools: dict, query: str, expect: str) -> None:
    for name in ("identify_molecule", "molecule_properties", "structural_alerts", "functional_groups"):
        msg = call(tools, name, molecule=query)
        assert msg.status == "error", (name, query)
        assert expect in msg.content, (name, msg.content)


def test_pentavalent_carbon_error_names_the_valence_problem(tools: dict) -> None:
    msg = call(tools, "identify_molecule", molecule="C[C](C)(C)(C)C")
    assert "valence" in msg.content.lower()


def test_exotic_hydride_salt_from_hiv_set_does_not_crash(tools: dict) -> None:
    # Found by benchmarks/perf/molecule_robustness.py: a fragment that is only valid inside its complex.
    smiles = "F[B-](F)(F)F.[H][H-][B-]1([H-][H])[n+]2ccccc2-c2cccc[n+]21"
    for name in ("identify_molecule", "molecule_properties", "structural_alerts", "functional_groups"):
        assert call(tools, name, molecule=smiles).status == "success", name


@pytest.mark.parametrize(
    ("smiles", "note"),
    [("[CH3]", "radical"), ("C[N+](C)(C)C", "charged"), ("[O-]C(=O)c1ccccc1.[Na+]", "salt or mixture")],
)
def test_unusual_species_are_computed_with_a_note(tools: dict, smiles: str, note: str) -> None:
    res = call(tools, "molecule_properties", molecule=smiles).artifact
    assert any(note in n for n in res["notes"])


def test_cyclosporine_fails_lipinski_on_mw_and_acceptors(tools: dict) -> None:
    # Cyclosporin A, C62H111N11O12: MW 1202.6; 11 N + 12 O = 23 acceptors; 4 NH + 1 OH = 5 donors (allowed).
    res = call(tools, "molecule_properties", molecule="cyclosporine").artifact
    d = res["descriptors"]
    assert d["molecular_weight"] == pytest.approx(1202.6, abs=0.1)
    assert (d["hbd"], d["hba"]) == (5, 23)
    lipinski = next(r for r in res["rules"] if r["rule"].startswith("Lipinski"))
    assert not lipinski["passed"]
    assert lipinski["violations"] == ["MW 1202.6 > 500", "H-bond acceptors 23 > 10"]


def test_aspirin_descriptors_and_rules(tools: dict) -> None:
    res = call(tools, "molecule_properties", molecule=ASPIRIN).artifact
    d = res["descriptors"]
    assert (d["hbd"], d["hba"], d["rotatable_bonds"], d["aromatic_rings"], d["heavy_atoms"]) == (
        1,
        4,
        2,
        1,
        13,
    )
    assert d["tpsa"] == pytest.approx(63.6, abs=0.1)
    assert all(r["passed"] for r in res["rules"])
    assert 0 < d["qed"] < 1


def test_rhodanine_and_catechol_hit_pains(tools: dict) -> None:
    rhod = call(tools, "structural_alerts", molecule="S=C1SC(=Cc2ccccc2)C(=O)N1").artifact
    assert "ene_rhod_A(235)" in [a["name"] for a in rhod["alerts"] if a["catalogue"] == "PAINS"]
    assert rhod["counts"]["NIH"] >= 1
    catechol = call(tools, "structural_alerts", molecule="Oc1ccccc1O").artifact
    assert "catechol_A(92)" in [a["name"] for a in catechol["alerts"]]
    clean = call(tools, "structural_alerts", molecule="ibuprofen").artifact
    assert clean["counts"]["PAINS"] == 0


def test_functional_groups_of_aspirin(tools: dict) -> None:
    names = {g["name"] for g in call(tools, "functional_groups", molecule="aspirin").artifact["groups"]}
    assert {"esters", "carboxylic acids", "benzene rings"} <= names
    assert "ethers" not in names  # the ester oxygen is not an ether


def test_similarity_pairs_and_nearest_approved(tools: dict) -> None:
    res = call(tools, "similarity_search", molecules=["aspirin", "salicylic acid", "ibuprofen"], top_k=3).artifact
    pairs = {(p["a"], p["b"]): p["tanimoto"] for p in res["pairs"]}
    assert len(pairs) == 3
    assert (
        pairs[("aspirin (Acetylsalicylic acid)", "Salicylic acid")]
        > pairs[("aspirin (Acetylsalicylic acid)", "Ibuprofen")]
    )
    first = res["neighbours"][0]["nearest_approved"]
    assert first[0]["name"] == "Acetylsalicylic acid" and first[0]["tanimoto"] == 1.0
    assert [h["tanimoto"] for h in first] == sorted((h["tanimoto"] for h in first), reverse=True)


def test_substructure_search_over_approved_drugs_and_given_molecules(tools: dict) -> None:
    res = call(tools, "substructure_search", smarts="O=C1CCN1", max_results=5).artifact
    assert res["searched"] == "approved drugs" and res["total_hits"] > 10  # beta-lactam antibiotics
    assert len(res["hits"]) == 5
    given = call(tools, "substructure_search", smarts="c1ccccc1C(=O)O", molecules=["aspirin", "caffeine"]).artifact
    assert [h["smiles"] for h in given["hits"]] == [ASPIRIN]
    assert call(tools, "substructure_search", smarts="[[[").status == "error"


def test_compare_names_highest_and_lowest(tools: dict) -> None:
    res = call(tools, "compare_molecules", molecules=["aspirin", "ibuprofen", "caffeine"], property="logP").artifact
    assert res["highest"] == "Ibuprofen" and res["lowest"] == "Caffeine"
    mw = call(tools, "compare_molecules", molecules=["caffeine", "aspirin"], property="molecular weight").artifact
    assert mw["highest"] == "Caffeine" and mw["unit"] == "g/mol"
    assert call(tools, "compare_molecules", molecules=["aspirin", "caffeine"], property="colour").status == "error"


def test_plain_invoke_returns_rendered_text(tools: dict) -> None:
    text = tools["identify_molecule"].invoke({"molecule": "aspirin"})
    assert text.startswith("aspirin (Acetylsalicylic acid): C9H8O4, MW 180.16 g/mol")


def test_evidence_is_registered_and_cited(tools: dict) -> None:
    ledger: list[Evidence] = []
    ctx = ToolContext(add_evidence=lambda e: ledger.append(e) or len(ledger), run_id="r")
    with tool_context(ctx):
        msg = call(tools, "molecule_properties", molecule="aspirin")
    assert msg.content.endswith("[1]")
    assert ledger[0].tool == "molecule_properties" and ledger[0].source_kind == "tool"


def test_pubchem_fallback_when_online_is_cached(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if "/synonyms/" in request.url.path:
            return httpx.Response(200, json={"InformationList": {"Information": [{"Synonym": ["Bosutinib X"]}]}})
        if "not-real" in request.url.path:
            return httpx.Response(404, json={})
        body = {"PropertyTable": {"Properties": [{"CID": 999, "SMILES": "CCN", "Title": "ethylamine"}]}}
        return httpx.Response(200, json=body)

    settings = Settings(offline=False, cache_dir=tmp_path / "http")
    tools = {t.name: t for t in chemistry_tools(settings, transport=httpx.MockTransport(handler))}
    rec = call(tools, "identify_molecule", molecule="ethylamine-ish").artifact
    assert rec["smiles"] == "CCN" and rec["source"] == "PubChem CID 999"
    n = len(seen)
    again = {t.name: t for t in chemistry_tools(settings, transport=httpx.MockTransport(handler))}
    assert call(again, "identify_molecule", molecule="ethylamine-ish").artifact["smiles"] == "CCN"
    assert len(seen) == n  # answered from the disk cache
    missing = call(tools, "identify_molecule", molecule="not-real")
    assert missing.status == "error" and "PubChem" in missing.content


def test_offline_context_blocks_pubchem(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not be reached
        raise AssertionError("network used while offline")

    settings = Settings(offline=False, cache_dir=tmp_path / "http")
    tools = {t.name: t for t in chemistry_tools(settings, transport=httpx.MockTransport(handler))}
    with tool_context(ToolContext(offline=True)):
        msg = call(tools, "identify_molecule", molecule="unobtainium")
    assert msg.status == "error" and "network is off" in msg.content


def test_run_context_switches_tools_built_offline_back_online(tmp_path: Path) -> None:
    """The run owns the network switch: tools built from offline settings go online when the run says so."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        body = {"PropertyTable": {"Properties": [{"CID": 999, "SMILES": "CCN", "Title": "ethylamine"}]}}
        return httpx.Response(200, json=body)

    settings = Settings(offline=True, cache_dir=tmp_path / "http", http_cache="off")
    tools = {t.name: t for t in chemistry_tools(settings, transport=httpx.MockTransport(handler))}
    assert "network is off" in call(tools, "identify_molecule", molecule="ethylamine-ish").content
    with tool_context(ToolContext(offline=False)):
        assert call(tools, "identify_molecule", molecule="ethylamine-ish").artifact["smiles"] == "CCN"
    assert seen
    with tool_context(ToolContext(offline=True)):
        assert "network is off" in call(tools, "identify_molecule", molecule="propylamine-ish").content
    assert not any("propylamine" in path for path in seen)


def test_find_molecules_links_names_and_smiles() -> None:
    found = find_molecules("Does aspirin interact with Warfarin, and what about CC(=O)Nc1ccc(O)cc1 or iron?")
    assert [(f.name, f.smiles) for f in found[:2]] == [
        ("Acetylsalicylic acid", ASPIRIN),
        ("Warfarin", "CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O"),
    ]
    assert found[2].smiles == "CC(=O)Nc1ccc(O)cc1" and found[2].name is None
    assert len(found) == 3  # "iron" is a common word, not linked


def test_find_molecules_prefers_longest_name_and_ignores_english() -> None:
    found = find_molecules("Is acetylsalicylic acid safer than valproic acid? CNS BBB NO CO IC50 COVID-19")
    assert [f.name for f in found] == ["Acetylsalicylic acid", "Valproic acid"]


def test_find_molecules_is_fast() -> None:
    import statistics
    import time

    find_molecules("warm up the index")
    question = "Compare the hERG liability of imatinib, dasatinib and nilotinib with CCN(CC)CCNC(=O)c1ccc(N)cc1"
    times = []
    for _ in range(50):
        start = time.perf_counter()
        find_molecules(question)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.005  # median, so one scheduler hiccup on a busy machine does not fail it


def test_tools_json_round_trip(tools: dict) -> None:
    art = call(tools, "identify_molecule", molecule="caffeine").artifact
    assert json.loads(json.dumps(art))["formula"] == "C8H10N4O2"


def test_unexpected_failures_become_tool_errors(tools: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    import txscout.tools.chemistry.service as chem_service

    def boom(mol: object) -> None:
        raise RuntimeError("Pre-condition Violation")

    monkeypatch.setattr(chem_service, "functional_groups", boom)
    msg = call(tools, "functional_groups", molecule="aspirin")
    assert msg.status == "error" and "RuntimeError" in msg.content


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [
        ("C1CC", "unclosed ring bond 1"),
        ("CC(C", "unbalanced parentheses"),
        ("[NH4", "unbalanced square brackets"),
        ("c1cccc1", "kekulize"),
        ("C(X)C", "unknown element symbol"),
    ],
)
def test_smiles_errors_say_what_is_wrong(tools: dict, smiles: str, reason: str) -> None:
    assert reason in call(tools, "identify_molecule", molecule=smiles).content


@pytest.mark.parametrize("query", ["notamolecule123xyz", "XYZ-12345", "CXC"])
def test_a_name_that_is_not_smiles_is_an_unknown_name_not_broken_smiles(tools: dict, query: str) -> None:
    for name in ("identify_molecule", "molecule_properties", "predict_admet"):
        args = {"molecules": [query]} if name == "predict_admet" else {"molecule": query}
        msg = call(tools, name, **args)
        assert msg.status == "error"
        assert f"unknown name '{query}'" in msg.content, (name, msg.content)
        assert "SMILES" not in msg.content.replace("A SMILES string always works offline", ""), msg.content


def test_a_research_code_links_to_its_drug(tools: dict) -> None:
    """AZD9291 is osimertinib's development code: the offline dictionary knows it."""
    record = call(tools, "identify_molecule", molecule="AZD9291").artifact
    assert record["name"] == "AZD9291 (Osimertinib)"
    (linked,) = find_molecules("What is the molecular weight of AZD9291?")
    assert linked.name == "Osimertinib" and linked.smiles == record["smiles"]


def test_a_racemate_keeps_its_own_name_and_an_enantiomer_its_own(tools: dict) -> None:
    """Ibuprofen and dexibuprofen share a connectivity key; a structure drawn without stereo is the
    racemate, the drawn (S)-enantiomer is dexibuprofen."""
    racemic = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
    for name in ("identify_molecule", "molecule_properties", "structural_alerts"):
        labelled = call(tools, name, molecule=racemic).artifact
        assert (labelled.get("name") or labelled.get("molecule")) == "Ibuprofen", name
    enantiomer = name_index().lookup("dexibuprofen")
    assert enantiomer is not None
    assert call(tools, "molecule_properties", molecule=enantiomer.smiles).artifact["molecule"] == "Dexibuprofen"
    (linked,) = find_molecules("What is the molecular weight of ibuprofen?")
    assert call(tools, "molecule_properties", molecule=linked.smiles).artifact["molecule"] == "Ibuprofen"
