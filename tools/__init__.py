"""txscout's tools: plain LangChain tools with typed inputs, usable in any LangChain or LangGraph agent.

``txscout.tools.chemistry`` and ``txscout.tools.literature`` build them from settings; the full set,
wired to the evidence store, is :func:`txscout.default_tools`.
"""
