"""Judge models: a second model that grades free-form answers with structured verdicts.

HLE's official protocol and the oncology rubric both need one. A judge that cannot be loaded or stops
answering raises ``JudgeUnavailable`` and ends the run: silently falling back to exact match would
change what the published number means.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from txscout.core.errors import UserError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from txscout.core.settings import Settings

T = TypeVar("T", bound=BaseModel)


class JudgeUnavailable(UserError):
    """The judge model could not be loaded or failed while grading."""


class AnswerVerdict(BaseModel):
    """HLE's judge output: the extracted final answer, whether it matches, and the stated confidence."""

    extracted_final_answer: str = Field(description="The final exact answer extracted from the response, or 'None'.")
    reasoning: str = Field(default="", description="Why the extracted answer does or does not match.")
    correct: Literal["yes", "no"] = Field(description="'yes' only if the answer matches the correct answer.")
    confidence: float = Field(default=100.0, description="The confidence score (0-100) stated in the response.")


class RubricVerdict(BaseModel):
    """Whether one rubric criterion is met by a response to a clinical vignette."""

    reasoning: str = Field(default="", description="Short justification citing the response.")
    met: Literal["yes", "no"] = Field(description="'yes' only if the response clearly satisfies the criterion.")


_ANSWER_PROMPT = """You grade an answer to an exam question against its known correct answer.

[question]: {question}

[response]: {response}

[correct_answer]: {correct_answer}

Extract the final answer the response commits to (write None if there is none). Judge it correct only if
it is equivalent to [correct_answer], allowing only a small numerical margin for numeric answers; any
inconsistency, ambiguity or extra non-equivalent claim makes it incorrect. Do not solve the question
yourself. Report the confidence the response states (100 if it states none).
"""

_RUBRIC_PROMPT = """You are an oncologist grading a response to a breast-oncology case against one
rubric criterion.

[case]: {case}

[response]: {response}

[criterion] ({axis}): {criterion}

Decide whether the response clearly meets the criterion. Do not give credit for content that is absent,
vague, or contradicted elsewhere in the response.
"""

_JSON_SUFFIX = "\nReply with one JSON object only, with these keys: {keys}."


def _parse_json(text: str, schema: type[T]) -> T:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise ValueError("no JSON object in the judge reply")
    return schema.model_validate(json.loads(match.group(0)))


class Judge:
    """Grades with ``with_structured_output`` where the model supports it, else a JSON prompt."""

    def __init__(self, model: BaseChatModel, label: str) -> None:
        self.model = model
        self.label = label

    @classmethod
    def load(cls, spec: str, settings: Settings) -> Judge:
        from txscout.agent.backends.models import describe, load_model

        try:
            model = load_model(spec, settings)
        except UserError as exc:
            raise JudgeUnavailable(f"judge model {spec!r} is unavailable: {exc}") from exc
        return cls(model, describe(spec))

    def _ask(self, prompt: str, schema: type[T]) -> T:
        try:
            structured = self.model.with_structured_output(schema)
        except (NotImplementedError, AttributeError, ValueError):  # models without tool calling
            structured = None
        last_error = ""
        for _attempt in range(2):
            try:
                if structured is not None:
                    result: Any = structured.invoke(prompt)
                    return result if isinstance(result, schema) else schema.model_validate(result)
                keys = ", ".join(schema.model_fields)
                reply = self.model.invoke(prompt + _JSON_SUFFIX.format(keys=keys))
                return _parse_json(reply.text, schema)
            except (ValueError, ValidationError) as exc:
                last_error = str(exc).splitlines()[0]
            except Exception as exc:
                raise JudgeUnavailable(f"judge model {self.label} failed: {type(exc).__name__}: {exc}") from exc
        raise ValueError(f"judge reply unusable after 2 attempts: {last_error}")

    def grade_answer(self, question: str, response: str, correct_answer: str) -> AnswerVerdict:
        prompt = _ANSWER_PROMPT.format(question=question, response=response, correct_answer=correct_answer)
        return self._ask(prompt, AnswerVerdict)

    def grade_rubric(self, case: str, response: str, axis: str, criterion: str) -> RubricVerdict:
        prompt = _RUBRIC_PROMPT.format(case=case, response=response, axis=axis, criterion=criterion)
        return self._ask(prompt, RubricVerdict)
