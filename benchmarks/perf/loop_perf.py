"""Loop overhead, CLI cold start and embedded-model speed (issue 2 figures).

Overhead per step = wall time per ReAct step minus what the model and the tool themselves cost,
with a zero-latency scripted model and a no-op tool; txscout and ``langchain.agents.create_agent``
run the same model and tool in the same process, alternately, so machine load hits both alike.

    python benchmarks/perf/loop_perf.py --steps 200 --repeats 5 --out benchmarks/perf/results/loop.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from rich.console import Console
from rich.table import Table


@tool
def noop(x: int) -> str:
    """Does nothing, instantly."""
    return "ok"


class NativeFake(FakeMessagesListChatModel):
    def bind_tools(self, tools: object, **kwargs: object) -> NativeFake:
        return self


def scripted(steps: int) -> NativeFake:
    calls = [
        AIMessage("", tool_calls=[{"name": "noop", "args": {"x": i}, "id": f"c{i}", "type": "tool_call"}])
        for i in range(steps)
    ]
    return NativeFake(responses=[*calls, AIMessage("done")])


def bare_cost(steps: int) -> float:
    """Seconds per step spent in the model and tool themselves (LangChain's own invoke path)."""
    model = scripted(steps)
    started = time.perf_counter()
    for i in range(steps):
        model.invoke([HumanMessage("q")])
        noop.invoke({"name": "noop", "args": {"x": i}, "id": f"c{i}", "type": "tool_call"})
    return (time.perf_counter() - started) / steps


def txscout_step(steps: int) -> float:
    from txscout.agent.api import Agent

    agent = Agent(
        model=scripted(steps),
        tools=[noop],
        mode="react",
        max_steps=steps + 2,
        max_tool_calls=steps + 1,
        token_limit=10**9,
        store=False,
    )
    started = time.perf_counter()
    answer = agent.run("go")
    elapsed = time.perf_counter() - started
    assert answer.text == "done" and answer.usage.tool_calls == steps, answer
    return elapsed / (steps + 1)


def langchain_step(steps: int) -> float:
    from langchain.agents import create_agent

    graph = create_agent(scripted(steps), tools=[noop])
    started = time.perf_counter()
    result = graph.invoke({"messages": [HumanMessage("go")]}, {"recursion_limit": 4 * steps + 10})
    elapsed = time.perf_counter() - started
    assert result["messages"][-1].content == "done"
    return elapsed / (steps + 1)


def cold_start(repeats: int) -> float:
    exe = Path(sys.executable).with_name("txscout")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def embedded_model(spec: str) -> dict[str, float]:
    from txscout.agent import protocol
    from txscout.agent.backends.local_model import LocalChatModel
    from txscout.agent.backends.models import local_model_path

    path = local_model_path(spec)
    started = time.perf_counter()
    model = LocalChatModel.for_path(path, name=spec)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    prompt = [SystemMessage(protocol.text_system_prompt([])), HumanMessage("Question: What is aspirin used for?")]
    reply = model.invoke(prompt, max_tokens=128, temperature=0.0)
    gen_s = time.perf_counter() - started
    usage = reply.usage_metadata or {}
    return {
        "load_s": load_s,
        "prompt_tokens": usage.get("input_tokens", 0),
        "output_tokens": usage.get("output_tokens", 0),
        "tokens_per_s": usage.get("output_tokens", 0) / gen_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/loop.json"))
    args = parser.parse_args()

    base = min(bare_cost(args.steps) for _ in range(args.repeats))
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(txscout_step(args.steps))
        theirs.append(langchain_step(args.steps))
    ours_s, theirs_s = min(ours), min(theirs)
    results = {
        "steps": args.steps,
        "model_and_tool_s_per_step": base,
        "txscout_s_per_step": ours_s,
        "create_agent_s_per_step": theirs_s,
        "txscout_overhead_ms_per_step": (ours_s - base) * 1000,
        "create_agent_overhead_ms_per_step": (theirs_s - base) * 1000,
        "overhead_ratio": (ours_s - base) / (theirs_s - base),
        "cli_help_cold_start_s": cold_start(args.repeats),
        "embedded": {spec: embedded_model(spec) for spec in ("smollm2", "gemma3-270m")},
    }
    table = Table("figure", "value", title="txscout loop and start-up")
    table.add_row("model+tool cost per step (both)", f"{base * 1000:.3f} ms")
    table.add_row("txscout overhead per step", f"{results['txscout_overhead_ms_per_step']:.3f} ms")
    table.add_row("create_agent overhead per step", f"{results['create_agent_overhead_ms_per_step']:.3f} ms")
    table.add_row("overhead ratio (ours / theirs)", f"{results['overhead_ratio']:.2f}")
    table.add_row("`txscout --help` cold start (median)", f"{results['cli_help_cold_start_s']:.2f} s")
    for spec, fig in results["embedded"].items():
        table.add_row(f"{spec} load", f"{fig['load_s']:.2f} s")
        table.add_row(f"{spec} generation", f"{fig['tokens_per_s']:.1f} tokens/s")
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
