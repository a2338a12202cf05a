"""txscout's agent: the ReAct loop, model backends, uncertainty-guided search and self-critique.

The public names are re-exported by :mod:`txscout`; this package stays import-light.
"""
