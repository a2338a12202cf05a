"""Constrained decoding cost (issue 13, item 3): the embedded model's tokens/s with each grammar the
agent uses, against the same prompt unconstrained.

Grammars: the ReAct reply with every default tool (``protocol.grammar_for``), the first step after
grounding that copies observed values (``protocol.copying_grammar``), a closed answer set
(``protocol.closed_answer_grammar``) and the tool-free final answer (``grammar_for([],
allow_actions=False)``), each on the prompt the agent uses it with. Each prompt is decoded with and
without its grammar in turn, so both see the same context length and the same load on the machine.
Speed is timed from the first streamed token to the last, leaving prompt evaluation out; the time to
the first token, with the prompt already cached, is mostly the grammar's set-up, which llama.cpp repeats
on every call. CPU milliseconds per token are steadier than wall time on a shared machine. Target:
every grammar at >= 0.7x the unconstrained speed.

    python benchmarks/perf/grammar_speed.py --out benchmarks/perf/results/grammar_speed.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage
from rich.console import Console
from rich.table import Table

from txscout.agent import protocol
from txscout.agent.backends.local_model import LocalChatModel, thread_counts
from txscout.agent.backends.models import local_model_path
from txscout.agent.toolbox import default_tools
from txscout.core.settings import load_settings
from txscout.core.toolkit import ToolContext, tool_context

QUESTION = "What is the molecular weight of ibuprofen?"
GROUNDING = ("identify_molecule", "molecule_properties")
CLOSED = "Which drug class does ibuprofen belong to? A) NSAID B) statin C) beta blocker D) opioid"


@dataclass
class Timing:
    first_token_s: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)

    def add(self, first: float, rate: float, cpu_ms: float, tokens: int) -> None:
        self.first_token_s.append(first)
        self.rates.append(rate)
        self.cpu_ms.append(cpu_ms)
        self.tokens.append(tokens)

    def summary(self) -> dict[str, float]:
        return {
            "first_token_s": round(statistics.median(self.first_token_s), 3),
            "tokens_per_s": round(statistics.median(self.rates), 1),
            "cpu_ms_per_token": round(statistics.median(self.cpu_ms), 2),
            "tokens_median": int(statistics.median(self.tokens)),
        }


@dataclass
class Case:
    """One grammar with the prompt the agent uses it on; ``free`` times the same prompt unconstrained."""

    name: str
    gbnf: str
    messages: list
    constrained: Timing = field(default_factory=Timing)
    free: Timing = field(default_factory=Timing)


def observations(tools: dict, question: str) -> list[str]:
    """What grounding would put under the question: identify_molecule and molecule_properties output."""
    out = []
    with tool_context(ToolContext(offline=True)):
        for name in ("identify_molecule", "molecule_properties"):
            message = tools[name].invoke(
                {"name": name, "args": {"molecule": "ibuprofen"}, "id": name, "type": "tool_call"}
            )
            out.append(str(message.content))
    return out


def cases() -> list[Case]:
    settings = load_settings(offline=True)
    tools = default_tools(settings)
    by_name = {t.name: t for t in tools}
    react = [SystemMessage(protocol.text_system_prompt(tools)), HumanMessage(f"Question: {QUESTION}")]
    seen = observations(by_name, QUESTION)
    grounded = [
        SystemMessage(protocol.text_system_prompt(tools)),
        HumanMessage(
            f"Question: {QUESTION}\n\n"
            + "\n\n".join(
                f"Observation: {protocol.frame_observation(n, o)}" for n, o in zip(by_name, seen, strict=False)
            )
        ),
    ]
    bare = [SystemMessage(protocol.text_system_prompt([])), HumanMessage(f"Question: {QUESTION}")]
    closed = [SystemMessage(protocol.text_system_prompt([])), HumanMessage(f"Question: {CLOSED}")]
    return [
        Case("tool call (grammar_for)", protocol.grammar_for(tools), react),
        Case("copying (copying_grammar)", protocol.copying_grammar(seen, QUESTION), grounded),
        Case("closed answer (closed_answer_grammar)", protocol.closed_answer_grammar(["A", "B", "C", "D"]), closed),
        Case("final only (grammar_for([], allow_actions=False))", protocol.grammar_for([], allow_actions=False), bare),
    ]


def decode(model: LocalChatModel, messages: list, gbnf: str | None, max_tokens: int) -> tuple[float, float, float, int]:
    """Seconds to the first streamed token, tokens/s from the first to the last, CPU milliseconds per
    token over the same span (steadier than wall time on a shared machine), and tokens generated.

    The prompt is already in llama.cpp's cache (a warm-up call ran it), so the first token's time is
    mostly the grammar's set-up, which llama.cpp repeats for every call.
    """
    kwargs: dict = {"max_tokens": max_tokens, "temperature": 0.0}
    if gbnf:
        kwargs["grammar"] = gbnf
    started = time.perf_counter()
    first = last = cpu_first = cpu_last = 0.0
    chunks = 0
    tokens = 0
    for chunk in model.stream(messages, **kwargs):
        now = time.perf_counter()
        if chunk.content:
            chunks += 1
            cpu_last = time.process_time()
            first, cpu_first = first or now, cpu_first or cpu_last
            last = now
        if chunk.usage_metadata:
            tokens = chunk.usage_metadata["output_tokens"]
    span = last - first
    rate = (chunks - 1) / span if span > 0 and chunks > 1 else 0.0
    cpu_ms = 1000 * (cpu_last - cpu_first) / (chunks - 1) if chunks > 1 else 0.0
    return first - started, rate, cpu_ms, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: chosen from cores)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/perf/results/grammar_speed.json"))
    args = parser.parse_args()

    model = LocalChatModel.for_path(local_model_path("smollm2"), name="local:smollm2", threads=args.threads)
    todo = cases()
    for _ in range(args.rounds):
        for case in todo:
            decode(model, case.messages, None, 1)  # puts this case's prompt in the cache
            case.free.add(*decode(model, case.messages, None, args.max_tokens))
            case.constrained.add(*decode(model, case.messages, case.gbnf, args.max_tokens))

    rows = []
    for case in todo:
        constrained, free = case.constrained.summary(), case.free.summary()
        ratio = constrained["tokens_per_s"] / free["tokens_per_s"] if free["tokens_per_s"] else None
        rows.append(
            {
                "grammar": case.name,
                "gbnf_chars": len(case.gbnf),
                "constrained": constrained,
                "unconstrained": free,
                "speed_ratio": round(ratio, 2) if ratio is not None else None,
            }
        )
    result = {"model": "local:smollm2", "threads": thread_counts(args.threads), "rounds": args.rounds, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    table = Table(
        "grammar",
        "GBNF chars",
        "first token s",
        "tokens",
        "tokens/s",
        "unconstrained tokens/s",
        "ratio",
        "CPU ms/token (unconstrained)",
        title="Embedded model decoding speed with each grammar (target ratio >= 0.7)",
    )
    for row in rows:
        c, f = row["constrained"], row["unconstrained"]
        table.add_row(
            row["grammar"],
            str(row["gbnf_chars"]),
            f"{c['first_token_s']:.3f}",
            str(c["tokens_median"]),
            f"{c['tokens_per_s']:.1f}",
            f"{f['tokens_per_s']:.1f}",
            f"{row['speed_ratio']:.2f}" if row["speed_ratio"] is not None else "-",
            f"{c['cpu_ms_per_token']:.1f} ({f['cpu_ms_per_token']:.1f})",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
