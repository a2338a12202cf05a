"""Evidence first: before the model's first step, the agent reads the literature the question needs.

Given tools, small models do not search the evidence they have: with all of PubMedQA's abstracts
stored, a test run never called ``memory_search`` once and answered none of 15 questions from them.
So the literature lane works like chemistry grounding (``agent.plan.grounding``): the agent itself searches,
in react and full, for every question, and shows the model what it found before its first step.

* When online and the run has ``pubmed_search``, PubMed is searched with the question's most specific
  terms (``queries.keywords``); the run stores what it returns in the evidence store, as it stores
  every abstract a tool reads, so the store search below ranks it with everything stored before.
* The evidence store is searched with the question (hybrid: meaning and exact terms). Of the best
  ``2 * evidence_k`` candidates, those whose cosine similarity to the question reaches
  ``evidence_floor`` are kept, at most ``evidence_k``, in rank order. The floor is set on the cosine
  similarity because the hybrid score is relative to the other candidates: the best of a store that
  knows nothing of the question would score as high as the right abstract.
* The passages kept join the ledger and are shown as numbered observations under the question. The
  answer must then cite them sentence by sentence (``protocol.cited_grammar`` for models that take a
  grammar; the instruction under the passages for the others).

The plan, an :class:`~txscout.core.evidence.EvidencePlan`, records what was linked, searched and kept,
with the scores, and goes into the trace as an ``evidence_plan`` event and onto the answer. When no
passage is kept and the answer cites nothing, :func:`unsupported` makes the answer say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from txscout.agent.answers import question_stem
from txscout.agent.queries import keywords, query_field
from txscout.core.events import ErrorRaised, EvidencePlanned
from txscout.core.evidence import Evidence, EvidencePlan, PlannedPassage, PlannedSearch

if TYPE_CHECKING:
    from txscout.agent.react import ReactPhase
    from txscout.agent.run import Run
    from txscout.memory.store import EvidenceStore, Hit

PUBMED = "pubmed_search"
PUBMED_KEYWORDS = 4
"""Terms of a PubMed query: PubMed ANDs them, so a fifth term mostly turns a good query into none."""
PUBMED_RESULTS = 5
SHOWN_CHARS = 900
"""A passage shown is cut at this many characters (at a word): one chunk of the store."""
CANDIDATES_PER_KEPT = 2
"""How many store candidates are weighed per passage that may be kept, so a passage below the floor
leaves room for one further down that reaches it."""


def gather(run: Run, question: str, phase: ReactPhase, store: EvidenceStore | None) -> EvidencePlan:
    """Search, keep, show and record: the run's :class:`EvidencePlan`, also set as ``run.plan`` with the
    numbers of the passages shown in ``run.passages``."""
    settings = run.settings
    plan = EvidencePlan(
        question=question,
        k=settings.evidence_k,
        floor=settings.evidence_floor,
        linked=[f"{o.tool}({', '.join(map(str, o.args.values()))})" for o in run.observations if o.automatic],
    )
    if settings.evidence_k > 0:
        stem = question_stem(question)
        fetched = _search_pubmed(run, stem, plan)
        if store is not None:
            _search_store(run, stem, plan, store)
        else:
            plan.searches.append(PlannedSearch(source="memory", query=stem, ran=False, note="no evidence store"))
            _keep_fetched(run, fetched, plan)
    kept = plan.kept
    run.plan = plan
    run.passages = [p.ref for p in kept if p.ref is not None]
    if kept:
        phase.show_passages([_shown(p.ref, run.ledger.get(p.ref)) for p in kept if p.ref is not None])
    run.emit(EvidencePlanned(plan=plan))
    return plan


def _search_pubmed(run: Run, question: str, plan: EvidencePlan) -> list[Evidence]:
    """PubMed searched with the question's key terms, when online; the evidence it added to the ledger
    (the run stores it in the evidence store)."""
    query = " ".join(keywords(question, limit=PUBMED_KEYWORDS))
    tool = run.tools.get(PUBMED)
    field = query_field(tool) if tool is not None else None
    if run.settings.offline or field is None:
        note = "offline" if run.settings.offline else "no PubMed tool"
        plan.searches.append(PlannedSearch(source="pubmed", query=query, ran=False, note=f"not searched: {note}"))
        return []
    before = len(run.ledger.items)
    args: dict[str, object] = {field: query}
    if "max_results" in (tool.args_schema.model_fields if isinstance(tool.args_schema, type) else {}):
        args["max_results"] = PUBMED_RESULTS
    outcome = run.call_tool(PUBMED, args, step=0, automatic=True, budgeted=False)
    added = run.ledger.items[before:]
    note = f"failed: {outcome.text[:200]}" if outcome.is_error else ""
    plan.searches.append(PlannedSearch(source="pubmed", query=query, found=len(added), note=note))
    return list(added)


def _search_store(run: Run, question: str, plan: EvidencePlan, store: EvidenceStore) -> None:
    """The store's best candidates, each kept when its similarity reaches the floor, at most ``k``."""
    from txscout.memory.store import StoreError

    depth = CANDIDATES_PER_KEPT * plan.k
    try:
        hits = store.search(question, k=depth, mode="hybrid")
    except StoreError as exc:
        run.emit(ErrorRaised(kind="memory", message=f"evidence-first search failed: {exc}"))
        plan.searches.append(PlannedSearch(source="memory", query=question, note=f"failed: {exc}"))
        return
    if not hits and store.count() == 0:
        plan.searches.append(PlannedSearch(source="memory", query=question, ran=False, note="the store is empty"))
        return
    plan.searches.append(PlannedSearch(source="memory", query=question, found=len(hits)))
    for hit in hits:
        passage = _candidate(hit)
        relevant = hit.similarity is not None and hit.similarity >= plan.floor
        if relevant and len(plan.kept) < plan.k:
            passage.kept = True
            passage.ref = run.add_evidence(hit.evidence.model_copy(), persist=False)
        plan.passages.append(passage)


def _keep_fetched(run: Run, fetched: list[Evidence], plan: EvidencePlan) -> None:
    """Without a store to rank them, PubMed's results are kept in PubMed's order, unscored."""
    for item in fetched[: plan.k]:
        ref, _ = run.ledger.add(item)
        plan.passages.append(_describe(item, kept=True, ref=ref))


def _candidate(hit: Hit) -> PlannedPassage:
    passage = _describe(hit.evidence)
    passage.score = round(hit.score, 4)
    passage.similarity = None if hit.similarity is None else round(hit.similarity, 4)
    passage.dense_rank = hit.dense_rank
    passage.lexical_rank = hit.lexical_rank
    return passage


def _describe(item: Evidence, *, kept: bool = False, ref: int | None = None) -> PlannedPassage:
    return PlannedPassage(
        evidence_id=item.content_hash,
        title=item.title,
        locator=item.locator,
        source_kind=item.source_kind,
        kept=kept,
        ref=ref,
    )


def _shown(ref: int, item: Evidence | None) -> str:
    """A passage as the model reads it: its number, where it is from, its title and its text."""
    if item is None:
        return f"[{ref}]"
    where = f"PMID {item.pmid}" if item.pmid else (item.url or item.doi or item.source_kind)
    meta = ", ".join(p for p in (where, str(item.year or "")) if p)
    text = item.text if len(item.text) <= SHOWN_CHARS else item.text[:SHOWN_CHARS].rsplit(" ", 1)[0] + " …"
    return f"[{ref}] ({meta}) {item.title}\n{text}".strip()


def unsupported(plan: EvidencePlan, answer: str) -> str:
    """The answer when no source answered the question: what was searched, that no passage reached the
    relevance floor, then the model's own answer marked as unsupported. The model's answer comes last
    and unchanged, so a closed answer set is still read from its last line."""
    notice = (
        f"The sources searched do not answer this question. Searched: {plan.searched()}; no passage reached "
        f"the relevance floor of {plan.floor:g}."
    )
    return f"{notice}\n\nUnsupported (the model's own answer, not from the sources):\n{answer}"
