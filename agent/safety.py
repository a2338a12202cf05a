"""The final-answer side of the chemical safety gate.

The gate acts on structures seen by tools, not on wording: once any tool flags a controlled or
high-risk chemical, the model's draft is replaced by a refusal of synthesis, acquisition and
weaponisation guidance that keeps the public safety information (toxicity, treatment of exposure).
Rephrasing the question cannot reach the draft, because the draft is discarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from txscout.core.events import SafetyFlagged


def guarded_answer(flags: list[SafetyFlagged]) -> str:
    from txscout.tools.chemistry.safety import check_name, check_structure

    seen: set[str] = set()
    sections = [
        "This question involves a chemical on the controlled or high-risk list. I can't provide guidance on "
        "its synthesis, acquisition, production or use as a weapon. Safety information follows."
    ]
    for flag in flags:
        if flag.matched in seen:
            continue
        seen.add(flag.matched)
        match = check_structure(flag.molecule) or check_name(flag.matched)
        heading = f"**{flag.matched}** ({flag.category}; structural similarity {flag.similarity:.2f})"
        if match is None:
            sections.append(heading)
            continue
        sections.append(f"{heading}\n\n- Hazard: {match.hazard}\n- Exposure response: {match.exposure_response}")
    sections.append("In an exposure emergency, contact emergency services and a poison control centre.")
    return "\n\n".join(sections)
