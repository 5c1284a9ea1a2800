"""API: import articles (admins only), checked as `annotator import` checks a file, all or nothing."""

from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import RequestEntityTooLarge

from annotator.db import get_session
from annotator.errors import BadImport
from annotator.services.importer import import_records, problem_lines
from annotator.services.settings import load_settings
from annotator.web.api import ADMINS, bp, require_role
from annotator.web.api.errors import ErrorBody, api_error, responses, spec
from annotator.web.api.schemas import ArticlesImport, ImportResult

ENDPOINT = "api.create_articles"
MIB = 1024 * 1024


@bp.before_request
def _imports_up_to_the_upload_limit():
    """Let an admin's import body be as large as the upload_limit_mb setting; others keep the app's limit."""
    # Runs after authentication (registered later on the same blueprint), and before spectree
    # reads the body: non-admins are refused without it being read.
    if request.endpoint != ENDPOINT or g.user is None:
        return
    require_role(*ADMINS)
    request.max_content_length = load_settings(get_session()).upload_limit_mb * MIB


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    if request.endpoint != ENDPOINT:
        return api_error(413, error.description or error.name)
    limit_mb = load_settings(get_session()).upload_limit_mb
    return api_error(
        413,
        f"The request body is over the import limit of {limit_mb} MiB.",
        [
            "Send the articles in several requests,",
            "or ask an admin to raise the limit: annotator config set upload_limit_mb N,",
            "or import the files on the server: annotator import PATH...",
        ],
    )


@bp.post("/articles")
@spec.validate(
    json=ArticlesImport,
    resp=responses(HTTP_201=ImportResult, HTTP_413=ErrorBody),
    tags=["import"],
)
def create_articles(json: ArticlesImport):
    """Import articles (admins only).

    The records are checked as `annotator import` checks a JSONL file: any
    problem answers 422 listing each one as `articles[INDEX]: problem`, and
    nothing is written. The import is recorded as a batch, which the admin
    pages can delete whole. The body may be as large as the upload_limit_mb
    setting.
    """
    require_role(*ADMINS)
    try:
        summary = import_records(get_session(), json.articles, origin=json.origin, actor=g.user)
    except BadImport as error:
        return api_error(
            422, "Nothing was imported: fix these problems and send the articles again.", problem_lines(error)
        )
    counts = summary.counts()
    result = ImportResult(
        batch=summary.batch_id,
        records=counts["records"],
        new=counts["new"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        spans_added=counts["spans_added"],
        gold_revisions=counts["gold_revisions"],
        gold_tallies=summary.gold_tallies,
        tallies_ignored=summary.tallies_ignored,
    )
    return result.model_dump(), 201
