"""Optional second predictor: a TxGemma-style model behind an OpenAI-compatible endpoint.

TxGemma answers Therapeutics Data Commons tasks (toxicity, activity, trial outcome, ...) from a prompt
that names the task and gives the SMILES. It is configured with ``predictor_url`` and
``predictor_model``; without them the tool says so rather than guessing.
"""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
from pydantic import BaseModel
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from txscout.core.settings import Settings
from txscout.core.tls import tls_context
from txscout.core.toolkit import ToolError
from txscout.tools.chemistry.safety import SafetyMatch

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class TdcPrediction(BaseModel):
    molecule: str = ""
    smiles: str
    task: str
    answer: str
    model: str
    safety: SafetyMatch | None = None

    def render(self) -> str:
        label = self.molecule or self.smiles
        text = f"{label} - {self.task}: {self.answer} (predicted by {self.model}; unvalidated)"
        return text + (f"\n{self.safety.render()}" if self.safety else "")


def build_prompt(smiles: str, task: str, question: str | None) -> str:
    q = question or f"Given a drug SMILES string, predict its outcome for the TDC task '{task}'."
    return (
        "Instructions: Answer the following question about drug properties.\n"
        f"Context: Therapeutics Data Commons task {task}.\n"
        f"Question: {q}\n"
        f"Drug SMILES: {smiles}\n"
        "Answer:"
    )


class TdcPredictor:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.url = settings.predictor_url.rstrip("/") if settings.predictor_url else None
        self.model = settings.predictor_model
        key = settings.api_key.get_secret_value() if settings.api_key else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            transport=transport, timeout=settings.tool_timeout_s, headers=headers, verify=tls_context()
        )

    @property
    def configured(self) -> bool:
        return bool(self.url and self.model)

    @property
    def remote(self) -> bool:
        """Whether the predictor is reached over the network (not on this machine)."""
        return self.url is not None and urlparse(self.url).hostname not in _LOOPBACK

    def predict(self, smiles: str, task: str, question: str | None, offline: bool) -> TdcPrediction:
        if not self.configured:
            raise ToolError(
                "predict_tdc is not configured: set predictor_url and predictor_model (config file, or "
                "TXSCOUT_PREDICTOR_URL / TXSCOUT_PREDICTOR_MODEL) to an OpenAI-compatible server running a "
                "TxGemma model. predict_admet works without it."
            )
        assert self.url is not None and self.model is not None
        if offline and self.remote:
            raise ToolError("predict_tdc: the network is off (--offline) and the predictor is not on this machine")
        payload = {
            "model": self.model,
            "messages": [{"role": "user", "content": build_prompt(smiles, task, question)}],
            "temperature": 0,
            "max_tokens": 64,
        }
        try:
            data = self._post(f"{self.url}/chat/completions", payload)
            answer = str(data["choices"][0]["message"]["content"]).strip()
        except httpx.HTTPError as exc:
            raise ToolError(f"predictor at {self.url} failed: {exc.__class__.__name__}") from exc
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ToolError(f"predictor at {self.url} returned an unexpected response") from exc
        return TdcPrediction(smiles=smiles, task=task, answer=answer or "(empty answer)", model=self.model)

    @retry(
        retry=retry_if_exception_type(httpx.TransportError),
        stop=stop_after_attempt(2),
        wait=wait_exponential(multiplier=0.5, max=2),
        reraise=True,
    )
    def _post(self, url: str, payload: dict) -> dict:
        response = self._client.post(url, json=payload)
        response.raise_for_status()
        return response.json()
