"""The team's pages: the dashboard (everyone; annotators see only their own row) and agreement (reviewers, admins)."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from annotator.db import get_session
from annotator.errors import NotFound
from annotator.labels import LABELS
from annotator.models import Role
from annotator.services import agreement as agreement_service
from annotator.services import dashboard as dashboard_service

bp = Blueprint("team", __name__, url_prefix="/team")


@bp.get("/")
def dashboard():
    """Show each annotator's progress, pace and agreement (an annotator sees only their own row)."""
    return render_template(
        "team/dashboard.html", dashboard=dashboard_service.dashboard(get_session(), g.user)
    )


@bp.get("/agreement")
def agreement():
    """Show inter-annotator agreement: span F1 per pair and label, token kappa and alpha, per article."""
    if g.user.role == Role.ANNOTATOR.value:
        abort(403, description="Agreement shows everyone's work: reviewers and admins only.")
    session = get_session()
    chosen = request.args.getlist("annotator") or None
    label = request.args.get("label", "")
    if label and label not in LABELS:
        abort(422, description=f"Unknown label {label!r}: choose one of {', '.join(LABELS)}, or all labels.")
    try:
        report = agreement_service.agreement(session, annotators=chosen, labels=(label,) if label else LABELS)
    except NotFound as error:
        abort(422, description=str(error))
    return render_template(
        "team/agreement.html",
        report=report,
        data=report.to_dict(),
        everyone=dashboard_service.annotators_with_accepted(session),
        chosen=chosen or [],
        label=label,
    )
