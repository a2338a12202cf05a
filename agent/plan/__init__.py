"""The run's plan, made before the model's first step: what the question links and asks, and what to read.

Chemistry grounding (``grounding``) links the molecules a question names and runs the tools on them;
the asked property (``asked``) closes the answer set to the values those tools state; evidence first
(``evidence_first``) searches the literature and keeps the passages the answer must cite; tool choice
(``tool_choice``) decides which tools the model is offered.
"""
