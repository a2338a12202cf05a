"""txscout's core: errors, settings, events, the evidence record and the tool contract.

Everything else in txscout builds on these modules, and they import nothing else of ours, so tools,
memory, the agent and the front ends agree on one vocabulary without importing each other.
"""
