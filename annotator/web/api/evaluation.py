"""API: evaluation of one source against another, and inter-annotator agreement (reviewers and admins)."""

from __future__ import annotations

from annotator.db import get_session
from annotator.errors import NotFound
from annotator.labels import LABELS
from annotator.services.agreement import agreement as compute_agreement
from annotator.services.evaluate import BadSource, evaluate_over_http
from annotator.web.api import REVIEWERS, bp
from annotator.web.api.articles import role_required
from annotator.web.api.errors import ErrorBody, api_error, responses, spec
from annotator.web.api.schemas import AgreementOut, AgreementQuery, EvaluateIn, EvaluationOut, InlineSource


def _source(value: str | InlineSource) -> str | list[dict]:
    if isinstance(value, InlineSource):
        return [document.model_dump() for document in value.documents]
    return value


@bp.post("/evaluate")
@role_required(*REVIEWERS)
@spec.validate(json=EvaluateIn, resp=responses(HTTP_200=EvaluationOut), tags=["evaluation"])
def evaluate(json: EvaluateIn):
    """Score one source against another: the report of `annotator evaluate --json`.

    A source is an origin of this database (gold, model, model:SOURCE,
    annotator:NAME) or documents sent inline, `{"documents": [{"id", "text",
    "spans"}]}`. Never a file on the server, and never a pipeline (running one
    would load code): those are refused with 422.
    """
    try:
        evaluation = evaluate_over_http(
            get_session(),
            _source(json.gold),
            _source(json.pred),
            labels=[label.strip().upper() for label in json.labels or ()] or LABELS,
        )
    except BadSource as error:
        return api_error(422, "The evaluation cannot be made.", str(error).split("\n"))
    return evaluation.to_dict()


def _names(raw: str | None) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


@bp.get("/agreement")
@role_required(*REVIEWERS)
@spec.validate(
    query=AgreementQuery, resp=responses(HTTP_200=AgreementOut, HTTP_404=ErrorBody), tags=["evaluation"]
)
def agreement(query: AgreementQuery):
    """How far annotators agree: the figures of `annotator agreement --json`.

    Over the articles two or more of the chosen annotators accepted: span F1
    per pair, Cohen's kappa and Krippendorff's alpha on tokens, CASUALTY
    attributes, each annotator against the pre-annotator, and the articles
    agreed on least. `annotators` and `labels` are comma-separated.
    """
    labels = [label.upper() for label in _names(query.labels)]
    unknown = [label for label in labels if label not in LABELS]
    if unknown:
        return api_error(422, f"Unknown label {', '.join(unknown)}: choose among {', '.join(LABELS)}.")
    annotators = _names(query.annotators)
    try:
        result = compute_agreement(get_session(), annotators=annotators or None, labels=labels or LABELS)
    except NotFound as error:
        return api_error(404, str(error))
    return result.to_dict()
