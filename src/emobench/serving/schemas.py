"""The service's request and answers as pydantic models built from its settings, so that the OpenAPI schema says
exactly what the service enforces (the limits of each text and of a request, the refusals it gives)."""
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .validation import not_all_whitespace


def text_check(max_chars: int):
    """One text's own problems, raised from the item so that its ``loc`` ends with the item's index."""

    def check_text(text: str) -> str:
        if not text.strip():
            raise PydanticCustomError("text_empty", "is empty")
        if len(text) > max_chars:
            raise PydanticCustomError("text_too_long", "has {length} characters; the maximum is {maximum}",
                                      {"length": len(text), "maximum": max_chars})
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise PydanticCustomError("text_lone_surrogate", "holds a lone surrogate (U+{code}) at character {at}; "
                                      "expected valid Unicode",
                                      {"code": f"{ord(text[exc.start]):04X}", "at": exc.start}) from None
        return text

    return check_text


@dataclass(frozen=True)
class ServiceTypes:
    """The body ``POST /predict`` takes, the answer it gives, and its refusals (``responses=`` of the route)."""

    request: type[BaseModel]
    response: type[BaseModel]
    refusals: dict
    explain_request: type[BaseModel]
    explain_response: type[BaseModel]


class Prediction(BaseModel):  # named so in the OpenAPI schema
    label: str | None = None
    labels: list[str] | None = None
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class Explanation(BaseModel):  # named so in the OpenAPI schema
    label: str = Field(..., description="the label the words are attributed toward")
    probability: float
    tokens: list[str]
    scores: list[float] = Field(..., description="each token's attribution toward the label (positive: for it)")
    method: str


class ExplainResponse(BaseModel):
    explanations: list[Explanation]


class TooLarge(BaseModel):
    detail: str = Field(..., min_length=1)


class Problem(BaseModel):
    loc: list[str | int] = Field(..., min_length=1, description='where: ["body"], ["body", "texts"], '
                                                                 '["body", "texts", 3] (the text\'s index last)')
    msg: str = Field(..., min_length=1, description="why, in words (never the input)")
    type: str


class Refused(BaseModel):
    detail: list[Problem] = Field(..., min_length=1)


def service_types(settings, labels: list[str]) -> ServiceTypes:
    """The models for a service's :class:`~emobench.serving.service.ServiceSettings` and its model's labels."""
    # What the schema says of each text is what text_check enforces: 1 to max_chars characters, not all whitespace
    # (lone surrogates cannot be written in a schema; they are refused too).
    Text = Annotated[str, AfterValidator(text_check(settings.max_chars)),
                     Field(json_schema_extra={"minLength": 1, "maxLength": settings.max_chars,
                                              "pattern": not_all_whitespace()})]

    class PredictRequest(BaseModel):
        model_config = ConfigDict(extra="forbid", json_schema_extra={
            "examples": [{"texts": ["i feel so happy today", "this makes me furious"]}]})
        texts: list[Text] = Field(..., min_length=1, max_length=settings.max_texts,
                                  description=f"1 to {settings.max_texts} texts, each 1 to {settings.max_chars} "
                                              "characters, not all whitespace")

    class ExplainRequest(PredictRequest):
        model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"texts": ["i feel so happy today"]}]})
        label: Literal[tuple(labels)] | None = Field(  # type: ignore[valid-type]
            None, description="the label to attribute toward (default: each text's most probable label)")

    # The answers /predict gives besides a 200, declared so that the OpenAPI schema tells the truth: a 422 names each
    # refused item in ``loc`` (the text's index last) and the reason in ``msg``; a 413 refuses a body unread.
    refusals = {
        413: {"model": TooLarge, "description": f"The body is larger than {settings.max_body_bytes:,} bytes, the most "
                                                "a valid request can need; it is refused before it is read"},
        422: {"model": Refused, "description": "A refused request: each entry names the item (`loc`, ending with the "
                                               "text's index for a per-text problem) and the reason (`msg`); the "
                                               "input is never echoed"},
    }
    return ServiceTypes(PredictRequest, PredictResponse, refusals, ExplainRequest, ExplainResponse)
