"""The Accuracy page: one origin scored against another, a chart per label and an error browser.

A plain GET form picks the sources and label; htmx sends the same GET on each
change and gets back only the report fragment.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from annotator.db import get_session
from annotator.services.accuracy import accuracy_report, default_sources, source_choices
from annotator.services.evaluate import BadSource
from annotator.web import answers_503_when_the_database_fails, is_htmx

bp = Blueprint("accuracy", __name__, url_prefix="/accuracy")


@bp.after_request
def _vary(response):
    # One URL serves the whole page and, for htmx, the report fragment.
    response.vary.add("HX-Request")
    return response


def _form() -> dict[str, str]:
    gold, pred = default_sources(g.user)
    return {
        "gold": request.args.get("gold", gold).strip(),
        "pred": request.args.get("pred", pred).strip(),
        "label": request.args.get("label", "").strip(),
    }


def _render(status: int = 200, **context):
    template = "accuracy/_report.html" if is_htmx() else "accuracy/page.html"
    choices = source_choices(get_session(), g.user)
    return render_template(template, choices=choices, form=_form(), **context), status


@bp.errorhandler(BadSource)
@answers_503_when_the_database_fails
def _bad_source(error):
    """Answer an unknown source or label with 422 (which htmx swaps in) and the message, the form kept."""
    return _render(422, report=None, message=str(error))


@bp.get("/")
def show():
    """Show the scores of the chosen predicted source against the chosen gold, and its errors."""
    form = _form()
    report = accuracy_report(get_session(), g.user, form["gold"], form["pred"], label=form["label"])
    return _render(report=report, message=None)
