"""Tool choice over a large MCP server: how long embedding its tool descriptions takes (cold, then from the
cache), how long choosing takes per question, and whether the ReAct system prompt fits SmolLM2's context.

    python benchmarks/perf/tool_choice_perf.py --mcp-config servers.json [--question "..."]...

Prints a table and writes ``benchmarks/perf/results/tool_choice.json``. The description cache goes to a
fresh temporary folder, so the cold figure is a first run on a new machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

DEFAULT_QUESTIONS = (
    "What are the known adverse events of osimertinib in FDA drug labels?",
    "Which genes are associated with cystic fibrosis?",
    "Find clinical trials of pembrolizumab in melanoma.",
    "What is the molecular weight of ibuprofen?",
)
RESULTS = Path(__file__).parent / "results" / "tool_choice.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mcp-config", type=Path, required=True)
    parser.add_argument("--question", action="append", default=[])
    args = parser.parse_args()

    from llama_cpp import Llama

    from txscout.agent.backends.local_model import LocalChatModel
    from txscout.agent.backends.models import local_model_path
    from txscout.agent.mcp_tools import McpServers
    from txscout.agent.plan.tool_choice import DescriptionVectors, ToolChooser, tool_text
    from txscout.agent.protocol import text_system_prompt
    from txscout.agent.toolbox import default_tools
    from txscout.core.settings import load_settings
    from txscout.memory.embeddings import get_embedder

    started = time.perf_counter()
    servers = McpServers(args.mcp_config, call_timeout_s=60, open_timeout_s=300)
    listed_s = time.perf_counter() - started
    cache = Path(tempfile.mkdtemp(prefix="txscout-tools-"))
    settings = load_settings(offline=True, tool_cache_dir=cache)
    tools = [*default_tools(settings), *servers.tools]
    embedder = get_embedder()
    texts = [tool_text(t) for t in tools]
    started = time.perf_counter()
    DescriptionVectors(embedder, cache).vectors(texts)
    cold_s = time.perf_counter() - started
    DescriptionVectors._held.clear()  # as a new process would: read from the cache folder
    started = time.perf_counter()
    DescriptionVectors(embedder, cache).vectors(texts)
    warm_s = time.perf_counter() - started

    tokenizer = Llama(model_path=str(local_model_path("smollm2")), vocab_only=True, verbose=False)
    chooser = ToolChooser(encoder=embedder)
    by_name = {t.name: t for t in tools}
    rows = []
    for question in args.question or DEFAULT_QUESTIONS:
        started = time.perf_counter()
        choice = chooser.choose(question, tools, settings)
        choose_s = time.perf_counter() - started
        prompt = text_system_prompt([by_name[n] for n in choice.offered])
        tokens = len(tokenizer.tokenize(prompt.encode(), add_bos=True))
        top = list(choice.scores)[:3]
        rows.append({"question": question, "choose_s": choose_s, "prompt_tokens": tokens, "top": top})

    full_prompt = sum(len(t.description) for t in tools)
    result = {
        "tools": len(tools),
        "mcp_tools": len(servers.tools),
        "problems": servers.problems,
        "description_chars": full_prompt,
        "list_s": round(listed_s, 2),
        "embed_cold_s": round(cold_s, 2),
        "embed_cached_s": round(warm_s, 3),
        "questions": rows,
        "cap": settings.max_offered_tools,
        "n_ctx": LocalChatModel.model_fields["n_ctx"].default,
        "machine": "2 cores shared with other jobs (loaded)",
    }
    servers.close()
    print(f"tools: {len(tools)} ({len(servers.tools)} from MCP), descriptions {full_prompt:,} characters")
    print(f"listing the server's tools: {listed_s:.1f} s")
    print(f"embedding every description: {cold_s:.1f} s cold, {warm_s:.3f} s from the cache")
    print(f"{'choose (s)':>10}  {'prompt tokens':>13}  question -> best offered tools")
    for row in rows:
        print(f"{row['choose_s']:>10.3f}  {row['prompt_tokens']:>13}  {row['question']} -> {', '.join(row['top'])}")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
