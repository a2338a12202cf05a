"""Model backends: what a chat model can do (``capabilities``), the embedded llama.cpp model
(``local_model``, with its saved prompt states in ``prompt_cache``), OpenAI-compatible endpoints
(``endpoint``) and the model specs that choose among them and LangChain's providers (``models``).
"""
