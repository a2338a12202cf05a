"""The phases after the ReAct draft in full mode: uncertainty-guided sampling and search
(``uncertainty``), self-critique and revision (``critique``), and the targeted searches both run
(``searcher``).
"""
