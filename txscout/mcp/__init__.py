"""``txscout mcp``: txscout's tools and agent served over the Model Context Protocol (official ``mcp`` SDK).

Not named ``mcp`` at the top level, which would shadow the SDK itself.
"""
