"""ADMET-AI through predict_admet: shape, units, percentiles, bad molecules, silence; and the TDC backend."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.scripted import script
from tests.tui_fakes import FixedAgent
from txscout.agent.api import Agent
from txscout.core.settings import Settings
from txscout.tools.chemistry import admet, chemistry_tools
from txscout.tui.app import TxscoutApp
from txscout.tui.sessions import SessionStore

MOLECULES = ["aspirin", "CC(C)Cc1ccc(C(C)C(=O)O)cc1", "caffeine", "metformin hydrochloride"]


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> dict:
    settings = Settings(offline=True, cache_dir=tmp_path_factory.mktemp("http"))
    return {t.name: t for t in chemistry_tools(settings)}


def call(tools: dict, name: str, **args: object):
    return tools[name].invoke({"name": name, "args": args, "id": "1", "type": "tool_call"})


def test_model_load_and_prediction_are_silent(capfd: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    admet.model()
    admet.predict(["CCO", "c1ccccc1O"])
    elapsed = time.perf_counter() - start
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert elapsed < 60  # cold load is about 8 s on a laptop CPU


def test_predictions_match_admet_ai_own_predict() -> None:
    """txscout runs ADMET-AI's ensembles without its per-call Trainer; every value must stay the same."""
    smiles = ["CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)Cc1ccc(C(C)C(=O)O)cc1"]
    with admet.quiet():
        reference = admet.model().predict(smiles)
    ours = admet.predict([*smiles, "C1CC", smiles[0]])
    assert list(ours) == smiles  # duplicates predicted once, unparsable structures absent
    for s in smiles:
        expected = reference.loc[s].to_dict()
        assert set(ours[s]) == set(expected)
        assert ours[s] == {k: pytest.approx(v, rel=1e-4, abs=1e-5) for k, v in expected.items()}


def test_concurrent_callers_share_one_model_and_agree() -> None:
    batches = [["CCO", "c1ccccc1O"], ["CC(=O)Oc1ccccc1C(=O)O"], ["CCO", "CCN"]] * 2
    sequential = [admet.predict(b) for b in batches]
    admet.warm_up().join()
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(admet.predict, batches))
    assert concurrent == sequential
    assert admet.is_loaded() and admet.model() is admet.model()


def test_batch_shape_units_meanings_and_percentiles(tools: dict) -> None:
    msg = call(tools, "predict_admet", molecules=MOLECULES)
    assert msg.status == "success", msg.content
    preds = msg.artifact["predictions"]
    assert len(preds) == 4
    ids = {e["id"] for e in preds[0]["endpoints"]}
    assert len(ids) == 52  # 41 TDC ADMET endpoints + 11 physicochemical properties
    tdc = [e for e in preds[0]["endpoints"] if e["category"] != "Physicochemical"]
    assert len(tdc) == 41
    for p in preds:
        assert p["error"] is None
        for e in p["endpoints"]:
            assert e["unit"] and e["meaning"]
            assert 0.0 <= e["percentile"] <= 100.0
            if e["unit"] == "probability":
                assert 0.0 <= e["value"] <= 1.0


def test_predicted_physchem_agrees_with_rdkit(tools: dict) -> None:
    pred = call(tools, "predict_admet", molecules=["aspirin"], endpoints=["molecular_weight", "tpsa"]).artifact
    values = {e["id"]: e["value"] for e in pred["predictions"][0]["endpoints"]}
    assert values == {"molecular_weight": pytest.approx(180.159, abs=0.01), "tpsa": pytest.approx(63.6, abs=0.1)}


def test_known_biology_is_ranked_sensibly(tools: dict) -> None:
    # Caffeine crosses the blood-brain barrier; metformin (a polar biguanide) does not.
    res = call(tools, "compare_molecules", molecules=["caffeine", "metformin"], property="BBB_Martins").artifact
    assert res["highest"] == "Caffeine"


def test_endpoint_filter_by_category_and_unknown_endpoint(tools: dict) -> None:
    pred = call(tools, "predict_admet", molecules=["aspirin"], endpoints=["Toxicity"]).artifact
    cats = {e["category"] for e in pred["predictions"][0]["endpoints"]}
    assert cats == {"Toxicity"}
    bad = call(tools, "predict_admet", molecules=["aspirin"], endpoints=["telepathy"])
    assert bad.status == "error" and "unknown endpoint" in bad.content


def test_bad_molecules_in_a_batch_do_not_sink_it(tools: dict) -> None:
    msg = call(tools, "predict_admet", molecules=["aspirin", "C1CC", "", "aspirin"], endpoints=["hERG"])
    preds = msg.artifact["predictions"]
    assert [p["error"] is None for p in preds] == [True, False, False, True]
    assert preds[0]["endpoints"][0]["value"] == preds[3]["endpoints"][0]["value"]
    assert "not predicted" in msg.content
    all_bad = call(tools, "predict_admet", molecules=["C1CC"])
    assert all_bad.status == "error"


def test_render_is_compact_and_marks_unreliable_endpoints(tools: dict) -> None:
    msg = call(tools, "predict_admet", molecules=["aspirin"], endpoints=["hERG", "Half_Life_Obach"])
    assert "hERG" in msg.content and "unreliable" in msg.content
    assert len(msg.content) < 600


def test_tdc_predictor_not_configured(tools: dict) -> None:
    msg = call(tools, "predict_tdc", molecule="aspirin", task="ClinTox")
    assert msg.status == "error" and "not configured" in msg.content


def test_tdc_predictor_through_openai_compatible_endpoint(tmp_path: Path) -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.url.path == "/v1/chat/completions"
        return httpx.Response(200, json={"choices": [{"message": {"content": " (A) not toxic "}}]})

    settings = Settings(
        offline=False, cache_dir=tmp_path, predictor_url="http://127.0.0.1:8000/v1", predictor_model="txgemma-2b"
    )
    tools = {t.name: t for t in chemistry_tools(settings, transport=httpx.MockTransport(handler))}
    msg = call(tools, "predict_tdc", molecule="aspirin", task="ClinTox")
    assert msg.status == "success", msg.content
    assert msg.artifact["answer"] == "(A) not toxic" and msg.artifact["model"] == "txgemma-2b"
    prompt = seen[0]["messages"][0]["content"]
    assert "CC(=O)Oc1ccccc1C(=O)O" in prompt and "ClinTox" in prompt


def test_admet_question_is_grounded_with_a_prediction_in_the_evidence() -> None:
    """Grounding passes predict_admet a list and only the endpoints asked for; the prediction is evidence."""
    model = script("Thought: The observations answer it.\nFinal Answer: Yes; hERG risk is low [3]")
    tools = chemistry_tools(Settings(offline=True))
    answer = Agent(model=model, tools=tools, mode="react", protocol="text", store=False).run(
        "Is imatinib Lipinski compliant, and what is its hERG risk?"
    )
    calls = [e for e in answer.events if e.type == "tool_call" and e.tool == "predict_admet"]
    assert len(calls) == 1 and calls[0].automatic
    imatinib = calls[0].args["molecules"][0]
    assert calls[0].args == {"molecules": [imatinib], "endpoints": ["hERG"]}
    result = next(e for e in answer.events if e.type == "tool_result" and e.call_id == calls[0].call_id)
    assert not result.is_error, result.output
    (herg,) = admet.endpoint_values(admet.predict([imatinib])[imatinib], admet.select_endpoints(["hERG"]))
    predicted = [e for e in answer.evidence if e.tool == "predict_admet"]
    assert len(predicted) == 1 and herg.render() in predicted[0].text
    assert "Lipinski" in model.prompts[0][-1].content


async def test_the_tui_warms_up_admet_once_its_agent_has_the_predictor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Loading ADMET-AI takes seconds; the TUI starts it in the background as soon as the agent is ready."""
    warmed: list[str] = []

    class WithPredictor(FixedAgent):
        tools = tuple(chemistry_tools(Settings(offline=True)))

    class WithoutTools(FixedAgent):
        tools = ()

    for agent, expected in ((WithoutTools, []), (WithPredictor, ["WithPredictor"])):
        monkeypatch.setattr(admet, "warm_up", lambda agent=agent: warmed.append(agent.__name__))
        app = TxscoutApp(agent_factory=agent, store=SessionStore(tmp_path / agent.__name__))
        async with app.run_test() as pilot:
            while not app.agent_ready:
                await pilot.pause(0.01)
        assert warmed == expected
